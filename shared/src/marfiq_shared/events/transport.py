"""The event bus interface; `RabbitMQTransport` and `InProcessTransport` implement it.

A transport moves already-serialised envelopes. The outbox, relay, consumer and inbox
above it are the same in both modes; only this last hop differs.

Delivery contract of `subscribe_batches` (and of `subscribe`), on both transports:
- a queue per consuming service, bound to the event types (topic patterns) it handles;
- messages are handed over in batches of what has arrived, up to `max_batch`, one batch
  at a time, and acknowledged only after the handler returned its outcome for each;
- a message whose outcome is an exception is retried after each delay of
  `retry_delays_ms`, then it goes to the queue's dead-letter queue (`<queue>.dlq`);
- a `PoisonMessage` outcome (it can never succeed) goes there at once.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from marfiq_shared.events.metrics import EVENTS_DEAD_LETTERED, EVENTS_FAILED

log = logging.getLogger(__name__)

# Header carrying how many times the handler has already failed on this message.
ATTEMPT_HEADER = "x-marfiq-attempt"
ERROR_HEADER = "x-marfiq-error"


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """An envelope ready to send: its id, its type (the routing key) and its JSON bytes."""

    id: str
    type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery of a message to a subscriber."""

    id: str
    type: str
    body: bytes
    attempt: int  # 1 on the first delivery, n after n-1 failed handler runs
    redelivered: bool = False  # the broker may have delivered it before (crash, cut)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message in a dead-letter queue, as an operator sees it."""

    id: str
    type: str
    body: bytes
    attempts: int
    error: str | None
    headers: Mapping[str, Any] = field(default_factory=dict)


DeliveryHandler = Callable[[Delivery], Awaitable[None]]
"""Handles one delivery; raising is a failure of that delivery."""

BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[Exception | None]]]
"""Handles deliveries together; returns, in order, None or the failure of each."""

BATCH_LINGER = 0.005
"""Seconds a subscription waits for a partial batch to fill when messages are streaming
in (some already waited while the previous batch was handled). Each batch costs a
transaction whatever its size, so a few milliseconds buy much fewer of them under load;
a message arriving when the subscription is idle goes through at once."""


class PoisonMessage(Exception):
    """The message can never be handled (malformed, unknown type): dead-letter it now."""


class PublishFailed(Exception):
    """The broker did not confirm every message of a batch; publish it again."""


class UnknownQueue(LookupError):
    """No such queue has been declared."""


class Subscription(Protocol):
    async def cancel(self) -> None:
        """Stop taking messages and wait for the handlers already running."""


class Transport(ABC):
    """Publishes envelopes and delivers them to per-service queues.

    Shared by several users in one process (the embedded mode runs five on one
    instance), so `open`/`close` are counted: the last `close` disconnects.
    """

    def __init__(self) -> None:
        self._users = 0
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        """Connect, or count one more user of an open transport."""
        async with self._lock:
            if self._users == 0:
                await self._connect()
            self._users += 1

    async def close(self) -> None:
        """Count one user less; disconnect when it was the last."""
        async with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users == 0:
                await self._disconnect()

    @property
    @abstractmethod
    def is_connected(self) -> bool:
        """Open and able to reach the broker now (for readiness probes)."""

    @abstractmethod
    async def _connect(self) -> None: ...

    @abstractmethod
    async def _disconnect(self) -> None: ...

    @abstractmethod
    async def publish(self, events: Sequence[OutgoingEvent]) -> None:
        """Return when the broker holds every event durably; raise `PublishFailed` if not."""

    async def subscribe(
        self,
        queue: str,
        event_types: Iterable[str],
        handler: DeliveryHandler,
        *,
        prefetch: int,
        retry_delays_ms: Sequence[int],
    ) -> Subscription:
        """Like `subscribe_batches`, for a handler of one delivery at a time.

        The deliveries of a batch (up to `prefetch`) are handled concurrently.
        """

        async def each(deliveries: Sequence[Delivery]) -> list[Exception | None]:
            results = await asyncio.gather(*map(handler, deliveries), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result  # cancelled: nothing is acknowledged
            return [result if isinstance(result, Exception) else None for result in results]

        return await self.subscribe_batches(
            queue,
            event_types,
            each,
            prefetch=prefetch,
            retry_delays_ms=retry_delays_ms,
            max_batch=prefetch,
        )

    @abstractmethod
    async def subscribe_batches(
        self,
        queue: str,
        event_types: Iterable[str],
        handler: BatchHandler,
        *,
        prefetch: int,
        retry_delays_ms: Sequence[int],
        max_batch: int,
    ) -> Subscription:
        """Declare `queue` bound to `event_types` and hand its messages to `handler`.

        Up to `prefetch` messages are taken ahead, so that the next batch is waiting
        while one is handled.
        """

    @abstractmethod
    async def dlq_count(self, queue: str) -> int:
        """Messages waiting in the dead-letter queue of `queue`."""

    @abstractmethod
    async def dlq_peek(self, queue: str, limit: int = 10) -> list[DeadLetter]:
        """The first `limit` dead letters of `queue`, left in place."""

    @abstractmethod
    async def dlq_replay(self, queue: str, limit: int | None = None) -> int:
        """Move dead letters back to `queue` for a fresh round of attempts; returns how many.

        Without `limit`, replays the messages present when called (not those that fail
        again meanwhile).
        """


async def handle_batch(
    handler: BatchHandler, deliveries: Sequence[Delivery]
) -> Sequence[Exception | None]:
    """Run a batch handler; a handler that raises fails every delivery of the batch."""
    try:
        outcomes = await handler(deliveries)
    except Exception as error:
        return [error] * len(deliveries)
    if len(outcomes) != len(deliveries):
        failure = RuntimeError(f"{len(outcomes)} outcomes for {len(deliveries)} deliveries")
        return [failure] * len(deliveries)
    return outcomes


def retry_delay_ms(
    queue: str, delivery: Delivery, error: Exception, retry_delays_ms: Sequence[int]
) -> int | None:
    """Count a failed delivery; the delay before its next attempt, or None to dead-letter."""
    EVENTS_FAILED.labels(queue, delivery.type).inc()
    if not isinstance(error, PoisonMessage) and delivery.attempt <= len(retry_delays_ms):
        log.warning(
            "event %s (%s) failed in %s, attempt %d: %r",
            delivery.id,
            delivery.type,
            queue,
            delivery.attempt,
            error,
        )
        return retry_delays_ms[delivery.attempt - 1]
    EVENTS_DEAD_LETTERED.labels(queue).inc()
    log.error(
        "event %s (%s) dead-lettered from %s after %d attempt(s)",
        delivery.id,
        delivery.type,
        queue,
        delivery.attempt,
        exc_info=error,
    )
    return None


def describe(error: BaseException) -> str:
    """The error as an operator reads it in a dead letter (bounded: it rides in a header)."""
    return f"{type(error).__name__}: {error}"[:1000]


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is one dot-separated word, `#` zero or more."""
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


@lru_cache(maxsize=4096)
def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return head in ("*", words[0]) and _match(rest, words[1:])
