"""E-mail over an encrypted, authenticated relay: STARTTLS, and implicit TLS (SMTPS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from delivery_support import MailServer, body_of, code_in, self_signed_tls, wait_for
from identity_support import make_settings, started


# With implicit TLS the whole connection is encrypted, which aiosmtpd cannot see: it warns
# that logins do not require STARTTLS.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_codes_go_through_an_encrypted_relay_with_a_login(
    database_url: str, clean: None, tmp_path: Path, security: str
) -> None:
    context, ca_file = self_signed_tls(tmp_path)
    relay = MailServer(tls=context, implicit_tls=security == "tls")
    await relay.start()
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        smtp_security=security,
        smtp_ca_file=ca_file,
        smtp_username="relay-user",
        smtp_password="relay-pass",
    )
    try:
        async with started(settings) as identity:
            requested = await identity.request_code("salma@example.ma")
            mails = await wait_for(lambda: relay.to("salma@example.ma"))
    finally:
        await relay.stop()

    assert requested.status_code == 202
    assert code_in(body_of(mails[0]))
    assert relay.logins == [(b"relay-user", b"relay-pass")]


async def test_an_untrusted_relay_certificate_is_refused(
    database_url: str, clean: None, tmp_path: Path
) -> None:
    context, _ = self_signed_tls(tmp_path)
    relay = MailServer(tls=context)
    await relay.start()
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        smtp_security="starttls",
        smtp_username="relay-user",
        smtp_password="relay-pass",
        delivery_attempts=1,
    )
    try:
        async with started(settings) as identity:
            await identity.request_code("nope@example.ma")
            await identity.app.state.postman.drain()
    finally:
        await relay.stop()

    assert relay.received == []
    assert relay.logins == []
