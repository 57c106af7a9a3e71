"""The postman: sends messages in the background, after the transaction that decided them
has committed, a bounded number at a time.

Why codes go this way rather than through a table: a code must be sent only once its
challenge is committed (else the person could receive a code that no challenge knows), and
the request must not hold its transaction open while a provider answers. Writing the code
to a durable queue would mean keeping live codes readable at rest; instead the message is
handed over right after the commit. If the process dies in that instant the person asks for
a new code after the cool-down; a code is never sent twice, and never before its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from marfiq_identity.notifications.channels import DeliveryFailed, Sender, send_with_retries
from marfiq_identity.notifications.messages import Channel, Message
from marfiq_identity.settings import IdentitySettings

log = logging.getLogger("marfiq.identity.delivery")


class Postman:
    """Holds the senders of one replica and the messages being sent."""

    def __init__(self, senders: Mapping[Channel, Sender], settings: IdentitySettings) -> None:
        self._senders = dict(senders)
        self._attempts = settings.delivery_attempts
        self._backoff = settings.delivery_backoff_s
        self._slots = asyncio.Semaphore(settings.delivery_concurrency)
        self._in_flight: set[asyncio.Task[bool]] = set()

    def can_send(self, channel: Channel) -> bool:
        return channel in self._senders

    async def deliver(self, message: Message) -> bool:
        """Send now, with retries; True when the provider accepted it."""
        sender = self._senders.get(message.channel)
        if sender is None:
            return False
        async with self._slots:
            try:
                await send_with_retries(
                    sender, message, attempts=self._attempts, backoff_s=self._backoff
                )
            except DeliveryFailed:
                return False
            except Exception:
                log.exception("delivery failed unexpectedly", extra={"channel": message.channel})
                return False
        return True

    def post(self, message: Message) -> None:
        """Send in the background; call only after the deciding transaction committed."""
        task = asyncio.create_task(self.deliver(message))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def drain(self) -> None:
        """Wait for every message posted so far (tests, shutdown)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def close(self, *, grace_s: float = 10.0) -> None:
        """Let messages in flight finish (up to `grace_s`), then close the senders."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), grace_s)
        for task in tuple(self._in_flight):
            task.cancel()
        for sender in {id(sender): sender for sender in self._senders.values()}.values():
            await sender.close()
