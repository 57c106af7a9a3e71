"""The delivery worker of one replica: sends queued notifications and keeps tables small.

Safe in several replicas: a batch is leased with `FOR UPDATE SKIP LOCKED` and committed
before anything is sent, so no transaction stays open while a provider answers. A replica
dying mid-batch leaves the lease to expire and another replica sends those messages again
(at least once: a notification may rarely arrive twice, never not at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from marfiq_identity.eid.models import EidChallenge
from marfiq_identity.notifications import repository
from marfiq_identity.notifications.messages import Message
from marfiq_identity.notifications.postman import Postman
from marfiq_identity.notifications.repository import Due, Outcome
from marfiq_identity.otp import service as otp
from marfiq_identity.raw import raw_connection
from marfiq_identity.settings import IdentitySettings
from marfiq_shared.db import Database

log = logging.getLogger("marfiq.identity.delivery")

# Waits between the rounds of a notification the providers keep refusing, then give up.
RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
LEASE = timedelta(minutes=5)
BATCH = 100
HOUSEKEEPING_EVERY = timedelta(minutes=5)
KEEP_DELIVERED = timedelta(days=30)


class DeliveryWorker:
    """Polls the `deliveries` table every `notification_poll_s` until stopped."""

    def __init__(self, database: Database, postman: Postman, settings: IdentitySettings) -> None:
        self._database = database
        self._postman = postman
        self._settings = settings
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._next_housekeeping = datetime.min.replace(tzinfo=UTC)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="identity-delivery-worker")

    def wake(self) -> None:
        """Look for work now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                while await self.run_once():
                    pass
                await self._housekeeping()
            except Exception:
                log.exception("delivery worker round failed; retrying at the next poll")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.notification_poll_s)
            self._wake.clear()

    async def run_once(self, *, now: datetime | None = None) -> int:
        """Send one batch of due notifications; how many were due."""
        now = now or datetime.now(UTC)
        # Each of the two writes is one statement, atomic and committed on its own: the
        # lease before anything is sent, the outcomes of the whole batch after.
        async with raw_connection(self._database) as connection:
            batch = await repository.claim_due(
                connection, now=now, lease_until=now + LEASE, limit=BATCH
            )
        if not batch:
            return 0
        results = await asyncio.gather(*(self._postman.deliver(_message(d)) for d in batch))
        done = datetime.now(UTC)
        outcomes = [_outcome(d, ok, done) for d, ok in zip(batch, results, strict=True)]
        async with raw_connection(self._database) as connection:
            await repository.record(connection, outcomes)
        for delivery, outcome in zip(batch, outcomes, strict=True):
            if outcome.failed_at is not None:
                log.error(
                    "notification given up",
                    extra={"delivery_id": str(delivery.id), "channel": delivery.channel},
                )
        return len(batch)

    async def _housekeeping(self) -> None:
        now = datetime.now(UTC)
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + HOUSEKEEPING_EVERY
        async with self._database.sessionmaker() as session, session.begin():
            await otp.prune(session, settings=self._settings, now=now)
            await repository.prune(session, before=now - KEEP_DELIVERED)
            await session.execute(
                delete(EidChallenge).where(EidChallenge.expires_at < now - timedelta(hours=1))
            )


def _outcome(delivery: Due, ok: bool, done: datetime) -> Outcome:
    """Sent; or tried again after the wait of this round; or, after the last, given up."""
    if ok:
        return Outcome(delivery.id, sent_at=done)
    if delivery.attempts > len(RETRY_AFTER):
        return Outcome(delivery.id, failed_at=done)
    return Outcome(delivery.id, next_attempt_at=done + RETRY_AFTER[delivery.attempts - 1])


def _message(delivery: Due) -> Message:
    return Message(
        channel=delivery.channel,  # type: ignore[arg-type]
        to=delivery.destination,
        subject=delivery.subject,
        text=delivery.body,
        language=delivery.language,  # type: ignore[arg-type]
    )
