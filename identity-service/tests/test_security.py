"""One test per attack on sign-in and tokens; each must be refused."""

from __future__ import annotations

import pytest
from identity_support import Identity


def problem_type(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"].rsplit("/", 1)[-1])


async def _challenge(identity: Identity, destination: str) -> tuple[str, str]:
    before = identity.delivered_to(destination)
    requested = await identity.request_code(destination)
    assert requested.status_code == 202, requested.text
    return requested.json()["challenge_id"], await identity.code_for(destination, count=before + 1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- one-time codes ------------------------------------------------------------------------


async def test_otp_brute_force_sixth_try_fails_even_with_the_right_code(
    identity: Identity,
) -> None:
    challenge_id, code = await _challenge(identity, "+212661100001")

    for left in range(4, -1, -1):
        wrong = await identity.verify(challenge_id, _wrong(code))
        assert wrong.status_code == 400
        assert problem_type(wrong) == "otp-invalid"
        assert wrong.json()["attempts_left"] == left
    sixth = await identity.verify(challenge_id, code)

    assert sixth.status_code == 429
    assert problem_type(sixth) == "otp-attempts-exhausted"
    assert "access_token" not in sixth.text


async def test_otp_replay_of_a_used_code_is_refused(identity: Identity) -> None:
    challenge_id, code = await _challenge(identity, "+212661100002")
    assert (await identity.verify(challenge_id, code)).status_code == 200

    replay = await identity.verify(challenge_id, code)

    assert replay.status_code == 400
    assert problem_type(replay) == "otp-expired"


async def test_otp_expired_code_is_refused(identity: Identity) -> None:
    challenge_id, code = await _challenge(identity, "+212661100003")
    async with identity.database.sessionmaker() as session, session.begin():
        from sqlalchemy import text

        await session.execute(
            text(
                "UPDATE identity.otp_challenges SET expires_at = now() - interval '1 second' "
                "WHERE id = :id"
            ),
            {"id": challenge_id},
        )

    late = await identity.verify(challenge_id, code)

    assert late.status_code == 400
    assert problem_type(late) == "otp-expired"


async def test_otp_code_of_another_challenge_is_refused(identity: Identity) -> None:
    mine, _ = await _challenge(identity, "+212661100004")
    _, theirs = await _challenge(identity, "+212661100005")

    crossed = await identity.verify(mine, theirs)

    assert crossed.status_code == 400
    assert problem_type(crossed) == "otp-invalid"


async def test_otp_enumeration_same_status_and_body_for_known_and_unknown_contacts(
    identity: Identity,
) -> None:
    from marfiq_identity.accounts.models import AccountKind

    await identity.account(kind=AccountKind.citizen, phone="+212661100006")

    known = await identity.request_code("+212661100006")
    unknown = await identity.request_code("+212661100007")

    assert known.status_code == unknown.status_code == 202
    assert known.json().keys() == unknown.json().keys()
    assert known.json()["expires_in"] == unknown.json()["expires_in"]
    assert known.headers.keys() - {"x-request-id"} == unknown.headers.keys() - {"x-request-id"}
    assert len(known.content) == len(unknown.content)


async def test_otp_failures_across_new_codes_throttle_the_contact(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.settings, "otp_resend_cooldown_s", 0)
    monkeypatch.setattr(identity.settings, "otp_failure_limit", 3)
    first, code = await _challenge(identity, "+212661100008")
    await identity.verify(first, _wrong(code))
    await identity.verify(first, _wrong(code))
    # A new code does not reset the count.
    second, code = await _challenge(identity, "+212661100008")
    assert (await identity.verify(second, _wrong(code))).status_code == 400

    right = await identity.verify(second, code)
    again = await identity.request_code("+212661100008")

    assert right.status_code == 429
    assert problem_type(right) == "otp-throttled"
    assert int(right.headers["retry-after"]) > 0
    assert again.status_code == 429
    assert problem_type(again) == "otp-throttled"


async def test_otp_send_limit_per_destination(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.settings, "otp_resend_cooldown_s", 0)
    for _ in range(5):
        assert (await identity.request_code("+212661100009")).status_code == 202

    sixth = await identity.request_code("+212661100009")

    assert sixth.status_code == 429
    assert problem_type(sixth) == "otp-send-limit"
    assert identity.sms.calls <= 5  # type: ignore[union-attr]


async def test_otp_resend_cool_down(identity: Identity) -> None:
    assert (await identity.request_code("+212661100010")).status_code == 202

    again = await identity.request_code("+212661100010")

    assert again.status_code == 429
    assert problem_type(again) == "otp-resend-too-soon"
    assert 0 < int(again.headers["retry-after"]) <= 60


async def test_otp_send_limit_per_client_address(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.settings, "otp_address_limit", 2)
    for number in ("+212661100011", "+212661100012"):
        assert (await identity.request_code(number)).status_code == 202

    third = await identity.request_code("+212661100013")

    assert third.status_code == 429
    assert problem_type(third) == "otp-send-limit"


async def test_otp_forged_forwarded_for_does_not_escape_the_address_limit(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The peer is not a trusted proxy: whatever X-Forwarded-For says is ignored.
    monkeypatch.setattr(identity.settings, "otp_address_limit", 1)
    first = await identity.request_code("+212661100014", **{"X-Forwarded-For": "198.51.100.1"})
    second = await identity.request_code("+212661100015", **{"X-Forwarded-For": "198.51.100.2"})

    assert first.status_code == 202
    assert second.status_code == 429


# --- tokens ----------------------------------------------------------------------------------


async def test_refresh_token_reuse_revokes_the_whole_session(identity: Identity) -> None:
    import jwt
    from identity_support import bearer, outbox_events

    tokens = await identity.sign_in("+212661100020")
    stolen = tokens["refresh_token"]
    legit = await identity.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": stolen}
    )
    assert legit.status_code == 200

    reuse = await identity.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": stolen}
    )

    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    # The rotated token of the legitimate holder dies with the session, and gateways hear.
    newest = await identity.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": legit.json()["refresh_token"]},
    )
    assert newest.status_code == 400
    me = await identity.client.get("/v1/me", headers=bearer(legit.json()["access_token"]))
    assert me.status_code == 401
    sid = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
    revoked = await outbox_events(identity, "identity.session.revoked")
    assert [(e["sid"], e["reason"]) for e in revoked] == [(sid, "refresh_token_reuse")]


# --- agents and partner clients ------------------------------------------------------------


async def test_agent_of_one_administration_cannot_add_agents_to_another(
    identity: Identity,
) -> None:
    from identity_support import bearer, create_administration

    from marfiq_identity.dev import issue_tokens_for

    cnss = await create_administration(identity, "CNSS")
    cmr = await create_administration(identity, "CMR")
    added = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "chef@cnss.ma", "role": "supervisor"},
        headers=bearer(await identity.admin_token()),
    )
    supervisor = (await issue_tokens_for(identity.app, added.json()["id"])).access_token

    intrusion = await identity.client.post(
        f"/v1/administrations/{cmr}/agents",
        json={"email": "mole@cnss.ma", "role": "supervisor"},
        headers=bearer(supervisor),
    )
    clients = await identity.client.post(
        f"/v1/administrations/{cmr}/clients",
        json={"name": "mole", "scopes": ["pensions:declare"]},
        headers=bearer(supervisor),
    )

    assert intrusion.status_code == 403
    assert clients.status_code == 403
    assert (
        await identity.scalar("SELECT count(*) FROM identity.accounts WHERE email = 'mole@cnss.ma'")
        == 0
    )


async def test_client_secret_used_after_revocation_is_refused(identity: Identity) -> None:
    from identity_support import bearer, create_administration

    cnss = await create_administration(identity, "CNSS")
    admin = bearer(await identity.admin_token())
    created = (
        await identity.client.post(
            f"/v1/administrations/{cnss}/clients",
            json={"name": "Paie", "scopes": ["pensions:declare"]},
            headers=admin,
        )
    ).json()
    rotated = (
        await identity.client.post(
            f"/v1/administrations/{cnss}/clients/{created['client_id']}/secret", headers=admin
        )
    ).json()

    revoked = await identity.client.delete(
        f"/v1/administrations/{cnss}/clients/{created['client_id']}", headers=admin
    )

    assert revoked.status_code == 204
    for secret in (created["client_secret"], rotated["client_secret"]):
        answer = await identity.client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials"},
            auth=(created["client_id"], secret),
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"
