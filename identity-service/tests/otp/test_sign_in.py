"""Sign-in by code, end to end over HTTP, codes read from what the providers received."""

from __future__ import annotations

import jwt
import pytest
from delivery_support import code_in
from identity_support import Identity, bearer

from marfiq_identity.accounts.models import AccountKind


async def test_first_sms_sign_in_creates_a_citizen_at_low(identity: Identity) -> None:
    requested = await identity.request_code("06 12 34 56 78")

    assert requested.status_code == 202
    assert requested.json()["expires_in"] == 300
    text = await identity.received_text("+212612345678")
    sms = identity.sms.to("+212612345678")[0]  # type: ignore[union-attr]
    assert sms.authorization == "Bearer sms-test-token"
    assert "Marfiq" in text
    verified = await identity.verify(requested.json()["challenge_id"], code_in(text))

    assert verified.status_code == 200
    tokens = verified.json()
    assert tokens["acr"] == "low"
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"].startswith("mrt_")
    assert verified.headers["cache-control"] == "no-store"
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["otp", "sms"]
    me = (await identity.client.get("/v1/me", headers=bearer(tokens["access_token"]))).json()
    assert me["phone"] == "+212612345678"
    assert me["roles"] == ["citizen"]
    assert me["kind"] == "citizen"
    assert me["acr"] == "low"


async def test_email_sign_in_speaks_the_language_asked_for(identity: Identity) -> None:
    requested = await identity.request_code("Amina@Example.MA", **{"Accept-Language": "ar"})

    assert requested.status_code == 202
    mail = (await _mail(identity, "amina@example.ma"))[0]
    assert mail["Subject"] == "رمز الدخول إلى مرفق"
    assert mail["Content-Language"] == "ar"
    tokens = await identity.verify(requested.json()["challenge_id"], code_in(mail.get_content()))
    me = await identity.client.get("/v1/me", headers=bearer(tokens.json()["access_token"]))
    assert me.json()["email"] == "amina@example.ma"
    assert me.json()["language"] == "ar"


async def _mail(identity: Identity, address: str) -> list:  # type: ignore[type-arg]
    await identity.received_text(address)
    return identity.mail.to(address)  # type: ignore[union-attr]


async def test_a_known_person_is_written_to_in_their_own_language(identity: Identity) -> None:
    await identity.account(kind=AccountKind.citizen, phone="+212661000001", language="en")

    await identity.request_code("+212661000001", **{"Accept-Language": "fr"})

    assert "your sign-in code is" in await identity.received_text("+212661000001")


async def test_signing_in_again_opens_a_new_session_on_the_same_account(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.settings, "otp_resend_cooldown_s", 0)
    first = await identity.sign_in("+212661000002")
    second = await identity.sign_in("+212661000002")

    one = jwt.decode(first["access_token"], options={"verify_signature": False})
    two = jwt.decode(second["access_token"], options={"verify_signature": False})
    assert one["sub"] == two["sub"]
    assert one["sid"] != two["sid"]
    count = await identity.scalar(
        "SELECT count(*) FROM identity.accounts WHERE phone = '+212661000002'"
    )
    assert count == 1


async def test_an_existing_agent_signs_in_to_their_account(identity: Identity) -> None:
    admin_token = await identity.admin_token()
    created = await identity.client.post(
        "/v1/administrations",
        json={
            "code": "DGI",
            "name_ar": "المديرية العامة للضرائب",
            "name_fr": "DGI",
            "kind": "directorate",
        },
        headers=bearer(admin_token),
    )
    administration_id = created.json()["id"]
    await identity.account(
        kind=AccountKind.agent,
        email="agent@dgi.gov.ma",
        administration_id=administration_id,
        roles=["agent"],
    )

    tokens = await identity.sign_in("agent@dgi.gov.ma")

    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["agent"]
    assert claims["adm"] == administration_id


async def test_a_channel_without_provider_is_unavailable(database_url: str, clean: None) -> None:
    from identity_support import make_settings, started

    async with started(make_settings(database_url)) as bare:
        answer = await bare.request_code("+212661000003")

    assert answer.status_code == 503
    assert answer.json()["type"].endswith("/channel-unavailable")


@pytest.mark.parametrize("status", [503, 429])
async def test_a_provider_hiccup_is_retried(identity: Identity, status: int) -> None:
    identity.sms.fail_next(status, status)  # type: ignore[union-attr]

    requested = await identity.request_code("+212661000004")

    assert requested.status_code == 202
    assert code_in(await identity.received_text("+212661000004"))
    assert identity.sms.calls == 3  # type: ignore[union-attr]


async def test_codes_are_never_logged_in_provider_mode(
    identity: Identity, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    identity.sms.fail_next(400)  # type: ignore[union-attr]  # a refused message is logged
    await identity.request_code("+212661000005")
    await identity.app.state.postman.drain()
    requested = await identity.request_code("+212661000006")
    code = await identity.code_for("+212661000006")
    await identity.verify(requested.json()["challenge_id"], code)

    assert "delivery failed" in caplog.text
    assert code not in caplog.text
    assert code not in capsys.readouterr().out


async def test_console_notifier_prints_one_line_with_the_code(
    database_url: str, clean: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from identity_support import make_settings, started

    async with started(make_settings(database_url, notifier="console")) as embedded:
        requested = await embedded.request_code("+212661000007")
        await embedded.app.state.postman.drain()

    lines = [line for line in capsys.readouterr().out.splitlines() if "+212661000007" in line]
    assert requested.status_code == 202
    assert len(lines) == 1
    assert lines[0].startswith("[marfiq sms] to +212661000007: ")
    assert code_in(lines[0])


async def test_a_sign_in_from_a_new_device_is_told_to_the_person(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.settings, "otp_resend_cooldown_s", 0)
    phone = "+212661000008"
    await identity.sign_in(phone, **{"X-Device-Id": "phone-of-amina"})
    await identity.sign_in(phone, **{"X-Device-Id": "phone-of-amina"})
    assert identity.delivered_to(phone) == 2  # two codes, no notice

    await identity.sign_in(phone, **{"X-Device-Id": "somebody-else"})

    notice = await identity.received_text(phone, count=4)
    assert "nouvel appareil" in notice
    assert not code_in_text(notice)


def code_in_text(text: str) -> bool:
    import re

    return re.search(r"(?<!\d)\d{6}(?!\d)", text) is not None


async def test_a_refused_request_leaves_no_challenge_behind(identity: Identity) -> None:
    # The challenge is written together with the reading of the limits; a refusal must
    # roll it back, or refused requests would count against the limits and be answerable.
    assert (await identity.request_code("+212661000009")).status_code == 202
    for _ in range(3):
        assert (await identity.request_code("+212661000009")).status_code == 429

    stored = await identity.scalar(
        "SELECT count(*) FROM identity.otp_challenges WHERE destination = '+212661000009'"
    )
    assert stored == 1
