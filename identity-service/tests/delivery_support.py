"""Real local stand-ins for the delivery providers: an HTTP SMS gateway and an SMTP server.

Both run in the test event loop on free loopback ports and keep what they received, so
tests read codes exactly where a person would: in the text that reached them.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import ssl
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope
from aiosmtpd.smtp import Session as SmtpSession

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass
class Sms:
    to: str
    text: str
    authorization: str | None


class SmsGateway:
    """Accepts `POST /messages` with JSON {to, text}; can be told to fail the next calls."""

    def __init__(self) -> None:
        self.received: list[Sms] = []
        self.calls = 0
        self._failures: list[int] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/messages", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/messages"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def reset(self) -> None:
        self.received.clear()
        self._failures.clear()
        self.calls = 0

    def fail_next(self, *statuses: int) -> None:
        """Answer the next calls with these HTTP statuses, in order."""
        self._failures.extend(statuses)

    async def _receive(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self._failures:
            return web.json_response({"error": "unavailable"}, status=self._failures.pop(0))
        body: dict[str, Any] = await request.json()
        self.received.append(
            Sms(str(body["to"]), str(body["text"]), request.headers.get("Authorization"))
        )
        return web.json_response({"id": str(len(self.received))}, status=202)

    def to(self, number: str) -> list[Sms]:
        return [sms for sms in self.received if sms.to == number]


@dataclass
class MailServer:
    """An SMTP server (aiosmtpd) keeping every message it accepted.

    With `tls`, it offers STARTTLS and requires it (and then a login), or, with
    `implicit_tls`, speaks TLS from the first byte (SMTPS).
    """

    received: list[EmailMessage] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None
    implicit_tls: bool = False
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def protocol() -> SMTP:
            if self.tls is None:
                return SMTP(self, hostname="mail.test")
            return SMTP(
                self,
                hostname="mail.test",
                tls_context=None if self.implicit_tls else self.tls,
                require_starttls=not self.implicit_tls,
                auth_required=True,
                auth_require_tls=not self.implicit_tls,
                authenticator=self._authenticate,
            )

        self._server = await loop.create_server(
            protocol, "127.0.0.1", 0, ssl=self.tls if self.implicit_tls else None
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _authenticate(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        self.logins.append((data.login, data.password))
        return AuthResult(success=data.login == b"relay-user" and data.password == b"relay-pass")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def reset(self) -> None:
        self.received.clear()

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [mail for mail in self.received if mail["To"] == address]


def body_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


async def wait_for(probe: Any, *, within_s: float = 3.0) -> Any:
    """Poll `probe()` until it returns something truthy (deliveries run in the background)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found = probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("nothing was delivered in time")
        await asyncio.sleep(0.005)


def code_in(text: str) -> str:
    match = CODE.search(text)
    assert match is not None, "no code in the message"
    return match.group(1)


def self_signed_tls(folder: Any) -> tuple[ssl.SSLContext, str]:
    """A server TLS context for 127.0.0.1 and the path of its certificate (the client's CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = folder / "relay.pem"
    key_path = folder / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, str(cert_path)
