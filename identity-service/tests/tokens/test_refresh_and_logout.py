"""Refresh-token rotation, reuse detection and logout, over HTTP."""

from __future__ import annotations

import jwt
from identity_support import Identity, bearer, outbox_events


async def _refresh(identity: Identity, token: str):  # type: ignore[no-untyped-def]
    return await identity.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


async def test_refresh_rotates_the_refresh_token_and_keeps_the_session(
    identity: Identity,
) -> None:
    tokens = await identity.sign_in("+212661200001")

    refreshed = await _refresh(identity, tokens["refresh_token"])

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["acr"] == "low"
    assert refreshed.headers["cache-control"] == "no-store"
    old = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    new = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert new["sid"] == old["sid"]
    assert new["sub"] == old["sub"]
    assert new["jti"] != old["jti"]
    assert (await _refresh(identity, body["refresh_token"])).status_code == 200


async def test_unknown_refresh_token_is_an_invalid_grant(identity: Identity) -> None:
    answer = await _refresh(identity, "mrt_not-a-token")

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_logout_revokes_the_session_and_announces_it(identity: Identity) -> None:
    tokens = await identity.sign_in("+212661200002")
    sid = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]

    out = await identity.client.post(
        "/v1/auth/logout", json={}, headers=bearer(tokens["access_token"])
    )

    assert out.status_code == 204
    assert (await _refresh(identity, tokens["refresh_token"])).status_code == 400
    me = await identity.client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    revoked = await outbox_events(identity, "identity.session.revoked")
    assert [event["sid"] for event in revoked] == [sid]
    assert revoked[0]["reason"] == "logout"
    assert revoked[0]["expires_at"]
    count = await identity.scalar(
        "SELECT count(*) FROM identity.refresh_tokens WHERE session_id = :sid", sid=sid
    )
    assert count == 0


async def test_logging_out_twice_is_harmless(identity: Identity) -> None:
    tokens = await identity.sign_in("+212661200003")
    headers = bearer(tokens["access_token"])

    first = await identity.client.post("/v1/auth/logout", headers=headers)
    second = await identity.client.post("/v1/auth/logout", headers=headers)

    assert first.status_code == second.status_code == 204
    assert len(await outbox_events(identity, "identity.session.revoked")) == 1


async def test_unsupported_grant_and_missing_fields(identity: Identity) -> None:
    password = await identity.client.post("/v1/auth/token", data={"grant_type": "password"})
    empty = await identity.client.post("/v1/auth/token", data={})
    no_token = await identity.client.post("/v1/auth/token", data={"grant_type": "refresh_token"})
    as_json = await identity.client.post("/v1/auth/token", json={"grant_type": "refresh_token"})

    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"
    assert empty.status_code == 422
    assert no_token.status_code == 400
    assert as_json.status_code == 422


async def test_oversized_and_garbage_token_requests_are_4xx(identity: Identity) -> None:
    answers = [
        await identity.client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": "x" * 5000}
        ),
        await identity.client.post("/v1/auth/token", data={"grant_type": "g" * 500}),
        await identity.client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + "A" * 5000},
        ),
        await identity.client.post(
            "/v1/auth/token",
            content=b"\xff\xfe\x00garbage",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        await identity.client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic Og=="},  # ":" — no client id
        ),
    ]

    for answer in answers:
        assert 400 <= answer.status_code < 500, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
