"""Senders: an HTTP SMS gateway, SMTP, and the console of the embedded mode.

A sender tries a message a few times with a doubling back-off; a message it gives up on is
counted in `marfiq_identity_delivery_failures_total` and logged (without its text: it may
hold a code). Texts are never logged by the providers, only printed by the console one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiohttp
import aiosmtplib
import orjson
from prometheus_client import Counter

from marfiq_identity.notifications.messages import Channel, Message
from marfiq_identity.settings import IdentitySettings

log = logging.getLogger("marfiq.identity.delivery")

DELIVERIES = Counter(
    "marfiq_identity_deliveries_total",
    "Messages handed to a provider, by channel and outcome (sent, failed).",
    ["channel", "outcome"],
)
DELIVERY_FAILURES = Counter(
    "marfiq_identity_delivery_failures_total",
    "Messages given up on after every retry, by channel and reason.",
    ["channel", "reason"],
)


class DeliveryFailed(Exception):
    """A message could not be delivered; `transient` when trying later may succeed."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class Sender(Protocol):
    """Delivers messages of one channel."""

    async def send(self, message: Message) -> None:
        """Deliver once; raise `DeliveryFailed`."""

    async def close(self) -> None:
        """Release connections."""


async def send_with_retries(
    sender: Sender,
    message: Message,
    *,
    attempts: int,
    backoff_s: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Send, retrying transient failures with a doubling, jittered back-off; count the
    outcome. Raises the last `DeliveryFailed`."""
    delay = backoff_s
    for attempt in range(1, attempts + 1):
        try:
            await sender.send(message)
        except DeliveryFailed as failure:
            if not failure.transient or attempt == attempts:
                DELIVERIES.labels(message.channel, "failed").inc()
                DELIVERY_FAILURES.labels(message.channel, failure.reason).inc()
                log.error(
                    "delivery failed",
                    extra={
                        "channel": message.channel,
                        "to": message.to,
                        "reason": failure.reason,
                        "attempts": attempt,
                    },
                )
                raise
            await sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter, not a secret)
            delay *= 2
        else:
            DELIVERIES.labels(message.channel, "sent").inc()
            return


class SmsGatewaySender:
    """An HTTP SMS gateway: `POST {url}` with JSON `{"to", "text"}` and a bearer token."""

    def __init__(self, url: str, *, token: str | None, timeout_s: float) -> None:
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._client: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop.
        if self._client is None:
            self._client = aiohttp.ClientSession(
                headers=self._headers,
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=100),
                json_serialize=lambda value: orjson.dumps(value).decode(),
            )
        return self._client

    async def send(self, message: Message) -> None:
        try:
            async with self._session().post(
                self._url, json={"to": message.to, "text": message.text}
            ) as response:
                status = response.status
                await response.read()
        except TimeoutError as exc:
            raise DeliveryFailed("timeout", transient=True) from exc
        except aiohttp.ClientError as exc:
            raise DeliveryFailed("unreachable", transient=True) from exc
        if status >= 500 or status == 429:
            raise DeliveryFailed(f"http_{status}", transient=True)
        if status >= 400:
            # The provider refused this message (a number it cannot reach, our token):
            # sending it again will not help.
            raise DeliveryFailed(f"http_{status}", transient=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class SmtpSender:
    """E-mail through an SMTP relay, STARTTLS, implicit TLS or plain (a local relay)."""

    def __init__(self, settings: IdentitySettings) -> None:
        assert settings.smtp_host is not None
        self._settings = settings
        self._host = settings.smtp_host

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self._settings.smtp_sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Message-ID"] = make_msgid(domain="marfiq.ma")
        email.set_content(message.text)
        # After set_content, which replaces every Content-* header.
        email["Content-Language"] = message.language
        return email

    async def send(self, message: Message) -> None:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        try:
            await aiosmtplib.send(
                self._email(message),
                hostname=self._host,
                port=settings.smtp_port,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                username=settings.smtp_username,
                password=password,
                cert_bundle=settings.smtp_ca_file,
                timeout=settings.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed("recipient_refused", transient=False) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx replies are temporary by definition (RFC 5321 §4.2.1); 5xx are final.
            raise DeliveryFailed(f"smtp_{exc.code}", transient=exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed("unreachable", transient=True) from exc

    async def close(self) -> None:
        return None


class ConsoleSender:
    """The embedded mode's notifier: one line per message on standard output, code included."""

    async def send(self, message: Message) -> None:
        text = " ".join(message.text.split())
        print(f"[marfiq {message.channel}] to {message.to}: {text}", flush=True)

    async def close(self) -> None:
        return None


def build_senders(settings: IdentitySettings) -> dict[Channel, Sender]:
    """The senders `settings` configure; a channel without a provider is left out."""
    if settings.notifier == "console":
        console = ConsoleSender()
        return {"sms": console, "email": console}
    senders: dict[Channel, Sender] = {}
    if settings.sms_gateway_url:
        token = settings.sms_gateway_token
        senders["sms"] = SmsGatewaySender(
            settings.sms_gateway_url,
            token=token.get_secret_value() if token else None,
            timeout_s=settings.sms_timeout_s,
        )
    if settings.smtp_host:
        senders["email"] = SmtpSender(settings)
    for channel in ("sms", "email"):
        if channel not in senders:
            log.warning(
                "no provider configured for %s: codes cannot be sent on this channel "
                "(set IDENTITY_SMS_GATEWAY_URL / IDENTITY_SMTP_HOST, or MARFIQ_NOTIFIER=console)",
                channel,
            )
    return senders
