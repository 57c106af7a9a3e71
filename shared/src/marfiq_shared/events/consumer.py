"""Runs a service's event handlers: inbox-deduplicated, in the consumer's own transaction.

At-least-once delivery, exactly-once effect: the inbox row and everything the handler
wrote commit together, and the transport acknowledges the message only after that
commit. A redelivery finds its id in the inbox and changes nothing.

The transport hands over what has arrived as a batch, and the batch is applied in one
transaction (group commit): under load a commit carries many events, when idle each
event commits alone. If any handler of a batch fails, the batch is rolled back and
applied again in halves until the failing event stands alone, so one bad event never
holds back the others and none is applied twice. A handler may thus run more than once
for an event whose transaction was rolled back: one whose effects leave the database
(an e-mail) should hand them to its own outbox rather than act directly.

A handler registered as a `DriverHandler` works on a `JoinedTransaction` (the asyncpg
connection of the open transaction, an ORM session joined on first use) instead of a
session. A batch whose handlers are all of that kind runs on the driver: asyncpg's BEGIN,
the inbox claim as one statement, the handlers, COMMIT; an ORM session and its transaction
cost about 1-2 ms of CPU more per batch, as much as a one-statement handler several times
over. A batch with any other handler runs on a session, driver handlers included.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_shared.db import Database, JoinedTransaction, session_driver
from marfiq_shared.events.catalogue import EventData, UnknownEventType, parse_data
from marfiq_shared.events.envelope import CloudEvent, current_correlation_id
from marfiq_shared.events.inbox import claim_events, claim_events_on
from marfiq_shared.events.metrics import EVENTS_CONSUMED, EVENTS_DUPLICATE
from marfiq_shared.events.outbox import wake_relays
from marfiq_shared.events.transport import Delivery, PoisonMessage
from marfiq_shared.tracing import span

log = logging.getLogger(__name__)

SessionHandler = Callable[[AsyncSession, CloudEvent, EventData], Awaitable[None]]
"""An event handler: it writes through the session it is given and never commits."""


@dataclass(frozen=True, slots=True)
class DriverHandler:
    """Registers `handle` as working on a `JoinedTransaction` rather than a session:
    `SUBSCRIPTIONS = {Type.type: DriverHandler(on_type)}`.

    `handle` sends its statements to `transaction.driver` (the asyncpg connection of the
    open transaction) and never commits; `transaction.session()` gives an ORM session in
    the same transaction when it needs one. Driver statements do not see the ORM changes
    a session holds before `flush()`. If it inserts outbox rows itself, it sets
    `transaction.wrote_events` so that the relay is woken after the commit.
    """

    handle: Callable[[JoinedTransaction, CloudEvent, EventData], Awaitable[None]]


Handler = SessionHandler | DriverHandler
"""What a service's SUBSCRIPTIONS map an event type to: a session handler, or a driver one."""


@dataclass(eq=False, slots=True)
class _Work:
    position: int  # in the batch the transport handed over
    id: UUID
    event: CloudEvent
    data: EventData
    handler: Handler


class Consumer:
    """The batch handler a transport calls with the deliveries of one service's queue."""

    def __init__(
        self,
        database: Database,
        inbox: Table,
        subscriptions: Mapping[str, Handler],
        *,
        queue: str,
    ) -> None:
        self._database = database
        self._inbox = inbox
        self._handlers = dict(subscriptions)
        self._queue = queue

    async def __call__(self, deliveries: Sequence[Delivery]) -> list[Exception | None]:
        """Apply the deliveries; for each, None once its effect is committed, or its error."""
        outcomes: list[Exception | None] = [None] * len(deliveries)
        work: list[_Work] = []
        for position, delivery in enumerate(deliveries):
            try:
                event, data = self._parse(delivery)
            except PoisonMessage as poison:
                outcomes[position] = poison
                continue
            handler = self._handlers.get(event.type)
            if handler is None:
                # Bound by an earlier release that handled it; acknowledging is all we can do.
                log.warning("%s: no handler for %s, %s ignored", self._queue, event.type, event.id)
                continue
            work.append(_Work(position, UUID(event.id), event, data, handler))
        if work:
            await self._apply_splitting(work, outcomes)
        return outcomes

    @staticmethod
    def _parse(delivery: Delivery) -> tuple[CloudEvent, EventData]:
        try:
            event = CloudEvent.from_json(delivery.body)
            return event, parse_data(event.type, event.data)
        except (ValidationError, UnknownEventType, ValueError) as error:
            # Retrying cannot fix the bytes: straight to the dead-letter queue.
            raise PoisonMessage(f"event {delivery.id} ({delivery.type}): {error}") from error

    async def _apply_splitting(self, work: list[_Work], outcomes: list[Exception | None]) -> None:
        try:
            await self._apply(work)
        except Exception as error:
            if await self._waited_for_database(error):
                # Not the events' fault: try them again rather than spend their retries
                # (and end in the dead-letter queue) because of a database outage.
                await self._apply_splitting(work, outcomes)
                return
            if len(work) == 1:
                outcomes[work[0].position] = error
                return
            # Find the failing events by halves: with one bad event in a batch of n,
            # about 2*log2(n) transactions instead of n, and the order is kept.
            log.info("batch of %d rolled back (%r); splitting it", len(work), error)
            half = len(work) // 2
            await self._apply_splitting(work[:half], outcomes)
            await self._apply_splitting(work[half:], outcomes)

    async def _waited_for_database(self, error: Exception) -> bool:
        """After a failure: if the database is unreachable, wait until it is back."""
        if await self._database_answers():
            return False
        delay = 0.5
        while True:
            log.warning("%s: database unreachable (%r); waiting %.1fs", self._queue, error, delay)
            await asyncio.sleep(delay)
            if await self._database_answers():
                return True
            delay = min(delay * 2, 10.0)

    async def _database_answers(self) -> bool:
        try:
            async with self._database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _apply(self, work: list[_Work]) -> None:
        claims = [(item.id, item.event.type) for item in work]
        if all(isinstance(item.handler, DriverHandler) for item in work):
            async with self._database.joined_transaction() as transaction:
                fresh = await claim_events_on(transaction.driver, self._inbox, claims)

                async def opened() -> JoinedTransaction:
                    return transaction

                applied = await self._handle(work, fresh, session=None, driver=opened)
        else:
            async with self._database.sessionmaker() as session, session.begin():
                fresh = await claim_events(session, self._inbox, claims)
                joined = _JoinedSession(session, self._database.source)
                applied = await self._handle(work, fresh, session=session, driver=joined.open)
            if joined.transaction is not None and joined.transaction.wrote_events:
                wake_relays(self._database.source)
        # Counted after the commit, once per type and batch rather than per event.
        duplicates = Counter(item.event.type for item in work)
        duplicates.subtract(applied)
        for event_type, count in applied.items():
            EVENTS_CONSUMED.labels(self._queue, event_type).inc(count)
        for event_type, count in duplicates.items():
            if count:
                EVENTS_DUPLICATE.labels(self._queue, event_type).inc(count)

    @staticmethod
    async def _handle(
        work: list[_Work],
        fresh: set[UUID],
        *,
        session: AsyncSession | None,
        driver: Callable[[], Awaitable[JoinedTransaction]],
    ) -> Counter[str]:
        """Run the handlers of the events claimed; how many of each type were applied."""
        applied: Counter[str] = Counter()
        for item in work:
            if item.id not in fresh:
                continue  # applied before, or earlier in this same batch
            fresh.discard(item.id)
            token = current_correlation_id.set(item.event.correlationid or item.event.id)
            try:
                with span(item.event.type, item.event.traceparent, kind="consumer"):
                    if isinstance(item.handler, DriverHandler):
                        await item.handler.handle(await driver(), item.event, item.data)
                    else:
                        # Only a batch of driver handlers runs without a session.
                        assert session is not None
                        await item.handler(session, item.event, item.data)
            finally:
                current_correlation_id.reset(token)
            applied[item.event.type] += 1
        return applied


class _JoinedSession:
    """A driver handler's `JoinedTransaction` in a batch that runs on a session: the
    session's own connection and transaction, the session itself as `session()`."""

    __slots__ = ("_session", "_source", "transaction")

    def __init__(self, session: AsyncSession, source: str) -> None:
        self._session = session
        self._source = source
        self.transaction: JoinedTransaction | None = None

    async def open(self) -> JoinedTransaction:
        """The transaction for the next driver handler, the session's changes flushed so
        that its statements see what the handlers before it wrote through the ORM."""
        session = self._session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        if self.transaction is None:
            driver = await session_driver(session)
            self.transaction = JoinedTransaction(driver, self._source, lambda: session)
        return self.transaction
