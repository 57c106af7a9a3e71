"""The outbox relay: moves committed outbox rows to the broker, in the producer's process."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress
from datetime import timedelta
from uuid import UUID

from sqlalchemy import ARRAY, Table, Uuid, any_, bindparam, func, select, update

from marfiq_shared.db import Database
from marfiq_shared.events.metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    PUBLISH_ERRORS,
)
from marfiq_shared.events.outbox import (
    OutboxBacklog,
    on_outbox_commit,
    outbox_backlog,
    prune_outbox,
)
from marfiq_shared.events.transport import OutgoingEvent, Transport

log = logging.getLogger(__name__)


class OutboxRelay:
    """Publishes a service's outbox in created order, each row once a broker confirmed it.

    Safe in several replicas: a batch is claimed with `FOR UPDATE SKIP LOCKED`, so two
    relays never send the same rows at the same time. A row is marked sent only after the
    broker confirmed it; when publishing fails the transaction rolls back, the rows stay
    unpublished and the relay retries after a growing pause. A crash between the confirm
    and the commit sends the rows again: consumers deduplicate on the event id.
    """

    def __init__(
        self,
        database: Database,
        transport: Transport,
        outbox: Table,
        *,
        source: str,
        batch_size: int = 500,
        idle_ms: int = 200,
        linger_ms: int = 5,
        max_backoff: float = 30.0,
        metrics_interval: float = 5.0,
        keep_published: timedelta = timedelta(days=7),
    ) -> None:
        self._database = database
        self._transport = transport
        self._outbox = outbox
        self.source = source
        self._batch_size = batch_size
        self._idle = idle_ms / 1000
        self._linger = linger_ms / 1000
        self._max_backoff = max_backoff
        self._metrics_interval = metrics_interval
        self._keep_published = keep_published
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = lambda: None
        self._claim = (
            select(outbox.c.id, outbox.c.type, outbox.c.payload)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.created_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        sent = outbox.c.id == any_(bindparam("ids", type_=ARRAY(Uuid)))
        self._mark_sent = update(outbox).where(sent).values(published_at=func.now())
        self._count_failure = update(outbox).where(sent).values(attempts=outbox.c.attempts + 1)

    def start(self) -> None:
        """Run the relay loop in the background until `stop`."""
        if self._task is not None:
            return
        self._stopping.clear()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            # A commit may happen on another thread (sync code): hop to our loop.
            loop.call_soon_threadsafe(self._wake.set)

        self._unsubscribe = on_outbox_commit(self.source, wake)
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay {self.source}")

    async def stop(self) -> None:
        """Finish the batch in progress and stop."""
        if self._task is None:
            return
        self._unsubscribe()
        self._stopping.set()
        self._wake.set()
        await self._task
        self._task = None

    async def _run(self) -> None:
        backoff = 0.0
        next_housekeeping = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            if time.monotonic() >= next_housekeeping:
                await self._housekeeping()
                next_housekeeping = time.monotonic() + self._metrics_interval
            try:
                sent = await self.publish_batch()
            except Exception as error:
                PUBLISH_ERRORS.labels(self.source).inc()
                backoff = min(max(backoff * 2, 0.25), self._max_backoff)
                log.warning(
                    "outbox relay %s: %r (%r); retrying in %.2fs",
                    self.source,
                    error,
                    error.__cause__,
                    backoff,
                )
                # Only `stop` cuts a back-off short: commits during an outage must not
                # turn it into a tight retry loop.
                await self._sleep(backoff, self._stopping)
                continue
            backoff = 0.0
            if sent < self._batch_size:
                woken = await self._sleep(self._idle, self._wake)  # a commit cuts this short
                if woken and sent:
                    # Commits are streaming in: let a few more land so that one batch
                    # (one transaction, one round of confirms) carries them together.
                    await self._sleep(self._linger, self._stopping)

    @staticmethod
    async def _sleep(seconds: float, until: asyncio.Event) -> bool:
        """Wait `seconds` or until `until` is set; whether it was set."""
        with suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), seconds)
        return until.is_set()

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished rows not locked by another relay; how many."""
        ids: list[UUID] = []
        confirmed = False
        try:
            async with self._database.sessionmaker() as session, session.begin():
                rows = (await session.execute(self._claim)).all()
                ids = [row.id for row in rows]
                if not rows:
                    return 0
                await self._transport.publish(
                    [OutgoingEvent(str(row.id), row.type, row.payload) for row in rows]
                )
                confirmed = True
                await session.execute(self._mark_sent, {"ids": ids})
        except Exception:
            if ids and not confirmed:
                await self._record_failure(ids)
            raise
        EVENTS_PUBLISHED.labels(self.source).inc(len(ids))
        return len(ids)

    async def _record_failure(self, ids: list[UUID]) -> None:
        # Best effort and observable: `attempts` shows rows the broker keeps refusing.
        try:
            async with self._database.sessionmaker() as session, session.begin():
                await session.execute(self._count_failure, {"ids": ids})
        except Exception as error:
            log.debug("could not count the failed attempt: %r", error)

    async def backlog(self) -> OutboxBacklog:
        """Unpublished rows and the age of the oldest; also sets the gauges."""
        async with self._database.sessionmaker() as session:
            backlog = await outbox_backlog(session, self._outbox)
        OUTBOX_BACKLOG.labels(self.source).set(backlog.count)
        OUTBOX_OLDEST_AGE.labels(self.source).set(backlog.oldest_age_seconds)
        return backlog

    async def _housekeeping(self) -> None:
        try:
            await self.backlog()
            async with self._database.sessionmaker() as session, session.begin():
                await prune_outbox(session, self._outbox, older_than=self._keep_published)
        except Exception as error:
            log.warning("outbox relay %s housekeeping: %r", self.source, error)
