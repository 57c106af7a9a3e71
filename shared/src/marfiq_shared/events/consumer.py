"""Runs a service's event handlers: inbox-deduplicated, in the consumer's own transaction.

At-least-once delivery, exactly-once effect: the inbox row and everything the handler
wrote commit together, and the message is acknowledged only after that commit. A
redelivery finds its id in the inbox and changes nothing.

Deliveries that arrive together are applied in one transaction (group commit): under
load a commit carries up to `max_batch` events, when idle each event commits alone. If
any handler of a batch fails, the batch is rolled back and applied again in halves until
the failing event stands alone, so one bad event never holds back the others and none
is applied twice. A handler may thus run more than once for an event whose transaction
was rolled back: one whose effects leave the database (an e-mail) should hand them to
its own outbox rather than act directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_shared.db import Database
from marfiq_shared.events.catalogue import EventData, UnknownEventType, parse_data
from marfiq_shared.events.envelope import CloudEvent, current_correlation_id
from marfiq_shared.events.inbox import claim_events
from marfiq_shared.events.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE
from marfiq_shared.events.transport import Delivery, PoisonMessage

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent, EventData], Awaitable[None]]
"""An event handler: it writes through the session it is given and never commits."""


@dataclass(eq=False, slots=True)
class _Pending:
    event: CloudEvent
    data: EventData
    handler: Handler
    event_id: UUID = field(init=False)
    done: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self.event_id = UUID(self.event.id)
        self.done = asyncio.get_running_loop().create_future()


class Consumer:
    """The delivery handler a transport calls for each message of one service's queue."""

    def __init__(
        self,
        database: Database,
        inbox: Table,
        subscriptions: Mapping[str, Handler],
        *,
        queue: str,
        max_batch: int = 100,
    ) -> None:
        self._database = database
        self._inbox = inbox
        self._handlers = dict(subscriptions)
        self._queue = queue
        self._max_batch = max_batch
        self._waiting: list[_Pending] = []
        self._applying: asyncio.Task[None] | None = None

    async def __call__(self, delivery: Delivery) -> None:
        """Return once the event's effect is committed (or was already); raise if not."""
        event, data = self._parse(delivery)
        handler = self._handlers.get(event.type)
        if handler is None:
            # Bound by an earlier release that handled it; acknowledging is all we can do.
            log.warning("%s has no handler for %s: %s ignored", self._queue, event.type, event.id)
            return
        pending = _Pending(event, data, handler)
        self._waiting.append(pending)
        if self._applying is None:
            self._applying = asyncio.create_task(self._apply_waiting())
        await pending.done

    @staticmethod
    def _parse(delivery: Delivery) -> tuple[CloudEvent, EventData]:
        try:
            event = CloudEvent.from_json(delivery.body)
            return event, parse_data(event.type, event.data)
        except (ValidationError, UnknownEventType, ValueError) as error:
            # Retrying cannot fix the bytes: straight to the dead-letter queue.
            raise PoisonMessage(f"event {delivery.id} ({delivery.type}): {error}") from error

    async def _apply_waiting(self) -> None:
        # One batch at a time: events are applied in the order they were delivered.
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._apply_batch(batch)
        finally:
            self._applying = None

    async def _apply_batch(self, batch: list[_Pending]) -> None:
        try:
            await self._apply(batch)
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0], error)
                return
            # Find the failing events by halves: with one bad event in a batch of n,
            # about 2*log2(n) transactions instead of n, and the order is kept.
            log.info("batch of %d rolled back (%r); splitting it", len(batch), error)
            half = len(batch) // 2
            await self._apply_batch(batch[:half])
            await self._apply_batch(batch[half:])
        else:
            for pending in batch:
                _settle(pending, None)

    async def _apply(self, batch: list[_Pending]) -> None:
        applied: Counter[str] = Counter()
        async with self._database.sessionmaker() as session, session.begin():
            fresh = await claim_events(
                session, self._inbox, [(p.event_id, p.event.type) for p in batch]
            )
            for pending in batch:
                if pending.event_id not in fresh:
                    continue  # applied before, or earlier in this same batch
                fresh.discard(pending.event_id)
                token = current_correlation_id.set(pending.event.correlationid or pending.event.id)
                try:
                    await pending.handler(session, pending.event, pending.data)
                finally:
                    current_correlation_id.reset(token)
                applied[pending.event.type] += 1
        # Counted after the commit, once per type and batch rather than per event.
        duplicates = Counter(pending.event.type for pending in batch)
        duplicates.subtract(applied)
        for event_type, count in applied.items():
            EVENTS_CONSUMED.labels(self._queue, event_type).inc(count)
        for event_type, count in duplicates.items():
            if count:
                EVENTS_DUPLICATE.labels(self._queue, event_type).inc(count)


def _settle(pending: _Pending, error: Exception | None) -> None:
    # The delivery may have been abandoned meanwhile (channel closed, stop).
    if pending.done.done():
        return
    if error is None:
        pending.done.set_result(None)
    else:
        pending.done.set_exception(error)
