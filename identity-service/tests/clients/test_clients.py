"""Partner clients: secret shown once and kept hashed, client credentials, rotation."""

from __future__ import annotations

import hashlib

import jwt
from identity_support import Identity, bearer, create_administration


async def _client(identity: Identity, administration_id: str, **headers: str) -> dict:  # type: ignore[type-arg]
    created = await identity.client.post(
        f"/v1/administrations/{administration_id}/clients",
        json={"name": "Système de paie CNSS", "scopes": ["pensions:declare", "complaints:read"]},
        headers={**bearer(await identity.admin_token()), **headers},
    )
    assert created.status_code == 201, created.text
    body: dict = created.json()  # type: ignore[type-arg]
    return body


async def client_credentials(identity: Identity, client_id: str, secret: str, **form: str):  # type: ignore[no-untyped-def]
    return await identity.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
    )


async def test_secret_is_shown_once_and_stored_hashed(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    created = await _client(identity, cnss, **{"Idempotency-Key": "client-0001"})
    replay = await identity.client.post(
        f"/v1/administrations/{cnss}/clients",
        json={"name": "Système de paie CNSS", "scopes": ["pensions:declare", "complaints:read"]},
        headers={**bearer(await identity.admin_token()), "Idempotency-Key": "client-0001"},
    )

    secret = created["client_secret"]
    assert secret.startswith("mcs_")
    assert created["client_id"].startswith("mcl_")
    assert replay.json()["client_id"] == created["client_id"]
    assert replay.json()["client_secret"] is None
    stored = await identity.scalar(
        "SELECT secret_hash FROM identity.clients WHERE client_id = :id", id=created["client_id"]
    )
    assert stored == hashlib.sha256(secret.encode()).digest()
    kept = await identity.scalar(
        "SELECT count(*) FROM identity.idempotency_keys WHERE body::text LIKE :s", s=f"%{secret}%"
    )
    assert kept == 0
    listed = await identity.client.get(
        f"/v1/administrations/{cnss}/clients", headers=bearer(await identity.admin_token())
    )
    assert secret not in listed.text


async def test_client_credentials_token_carries_scope_and_administration(
    identity: Identity,
) -> None:
    cnss = await create_administration(identity, "CNSS")
    created = await _client(identity, cnss)

    answer = await client_credentials(identity, created["client_id"], created["client_secret"])
    narrowed = await client_credentials(
        identity, created["client_id"], created["client_secret"], scope="pensions:declare"
    )
    too_wide = await client_credentials(
        identity, created["client_id"], created["client_secret"], scope="pensions:admin"
    )

    assert answer.status_code == 200
    assert answer.json()["refresh_token"] is None
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["scope"] == "complaints:read pensions:declare"
    assert claims["adm"] == cnss
    assert claims["roles"] == ["client"]
    assert claims["sub"] == created["client_id"]
    assert "sid" not in claims
    narrow = jwt.decode(narrowed.json()["access_token"], options={"verify_signature": False})
    assert narrow["scope"] == "pensions:declare"
    assert too_wide.status_code == 400
    assert too_wide.json()["error"] == "invalid_scope"


async def test_wrong_secret_and_unknown_client_are_refused_alike(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    created = await _client(identity, cnss)

    wrong = await client_credentials(identity, created["client_id"], "mcs_wrong")
    unknown = await client_credentials(identity, "mcl_nobody", created["client_secret"])
    no_auth = await identity.client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials"}
    )
    garbage = await identity.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64"},
    )

    for answer in (wrong, unknown, no_auth, garbage):
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert wrong.json() == unknown.json()


async def test_rotation_keeps_the_previous_secret_for_the_overlap(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    created = await _client(identity, cnss)

    rotated = await identity.client.post(
        f"/v1/administrations/{cnss}/clients/{created['client_id']}/secret",
        headers=bearer(await identity.admin_token()),
    )

    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    assert new_secret != created["client_secret"]
    assert rotated.json()["previous_secret_expires_at"]
    assert (await client_credentials(identity, created["client_id"], new_secret)).status_code == 200
    old = await client_credentials(identity, created["client_id"], created["client_secret"])
    assert old.status_code == 200


async def test_a_supervisor_manages_only_their_own_clients(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    cmr = await create_administration(identity, "CMR")
    created = await _client(identity, cnss)
    from marfiq_identity.dev import issue_tokens_for

    added = await identity.client.post(
        f"/v1/administrations/{cmr}/agents",
        json={"email": "chef@cmr.ma", "role": "supervisor"},
        headers=bearer(await identity.admin_token()),
    )
    cmr_supervisor = (await issue_tokens_for(identity.app, added.json()["id"])).access_token

    revoke = await identity.client.delete(
        f"/v1/administrations/{cnss}/clients/{created['client_id']}",
        headers=bearer(cmr_supervisor),
    )
    through_own = await identity.client.delete(
        f"/v1/administrations/{cmr}/clients/{created['client_id']}",
        headers=bearer(cmr_supervisor),
    )

    assert revoke.status_code == 403
    assert through_own.status_code == 404
    assert (
        await client_credentials(identity, created["client_id"], created["client_secret"])
    ).status_code == 200


async def test_bad_client_input_is_refused(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    admin = bearer(await identity.admin_token())
    for body in (
        {"name": "ok", "scopes": []},
        {"name": "ok", "scopes": ["NOT A SCOPE"]},
        {"name": "bad\x00name", "scopes": ["pensions:declare"]},
        {"name": "x" * 500, "scopes": ["pensions:declare"]},
        {"name": "ok", "scopes": ["a:b"] * 50},
    ):
        answer = await identity.client.post(
            f"/v1/administrations/{cnss}/clients", json=body, headers=admin
        )
        assert answer.status_code == 422, body
    unknown = await identity.client.post(
        f"/v1/administrations/{cnss}/clients/not-a-client-id/secret", headers=admin
    )
    assert unknown.status_code == 422
