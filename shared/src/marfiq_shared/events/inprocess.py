"""The in-process transport of the embedded mode: the gateway and the four services share
one process and one instance of it.

It keeps RabbitMQ's semantics so that the code above it cannot tell the difference: topic
bindings, one queue per consuming service (a copy of each event per queue), acknowledgement
only after the handler returned, retries after delays, a dead-letter list per queue.
Queues live as long as the instance, across subscribe and cancel, like durable queues.
What it cannot give is durability across a crash of the process: messages still queued
then are lost (the outbox rows are already marked sent), which is why `cancel` drains.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from marfiq_shared.events.transport import (
    ATTEMPT_HEADER,
    BATCH_LINGER,
    ERROR_HEADER,
    BatchHandler,
    DeadLetter,
    Delivery,
    OutgoingEvent,
    Subscription,
    Transport,
    UnknownQueue,
    describe,
    handle_batch,
    retry_delay_ms,
    topic_matches,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Message:
    event: OutgoingEvent
    failures: int = 0
    error: str | None = None


@dataclass(eq=False)
class _Queue:
    name: str
    patterns: set[str] = field(default_factory=set)
    ready: asyncio.Queue[_Message] = field(default_factory=asyncio.Queue)
    dead: list[_Message] = field(default_factory=list)
    delayed: set[asyncio.TimerHandle] = field(default_factory=set)

    def later(self, delay_ms: int, message: _Message) -> None:
        """Put `message` back after `delay_ms`, as a retry queue's TTL does."""

        def due() -> None:
            self.delayed.discard(handle)
            self.ready.put_nowait(message)

        handle = asyncio.get_running_loop().call_later(delay_ms / 1000, due)
        self.delayed.add(handle)


class InProcessTransport(Transport):
    """Topic exchange, queues, retries and DLQ in memory, on the running event loop."""

    def __init__(self, *, drain_timeout: float = 10.0) -> None:
        super().__init__()
        self._queues: dict[str, _Queue] = {}
        self._routes: dict[str, list[_Queue]] = {}  # type -> bound queues, cached
        self._drain_timeout = drain_timeout

    @property
    def is_connected(self) -> bool:
        return self._users > 0

    async def _connect(self) -> None:
        pass

    async def _disconnect(self) -> None:
        for queue in self._queues.values():
            waiting = queue.ready.qsize() + len(queue.delayed)
            if waiting:
                log.warning("%d event(s) still queued in %s are dropped", waiting, queue.name)

    async def publish(self, events: Sequence[OutgoingEvent]) -> None:
        for event in events:
            for queue in self._route(event.type):
                queue.ready.put_nowait(_Message(event))

    def _route(self, event_type: str) -> list[_Queue]:
        queues = self._routes.get(event_type)
        if queues is None:
            queues = [
                queue
                for queue in self._queues.values()
                if any(topic_matches(pattern, event_type) for pattern in queue.patterns)
            ]
            self._routes[event_type] = queues
        return queues

    def _declare(self, name: str, event_types: Iterable[str]) -> _Queue:
        queue = self._queues.setdefault(name, _Queue(name))
        queue.patterns.update(event_types)
        self._routes.clear()
        return queue

    def _existing(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueue(name) from None

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
        subscription = _Subscription(
            self._declare(queue, event_types),
            handler,
            list(retry_delays_ms),
            max_batch=max(1, min(max_batch, prefetch)),
            drain_timeout=self._drain_timeout,
        )
        subscription.start()
        return subscription

    async def dlq_count(self, queue: str) -> int:
        return len(self._existing(queue).dead)

    async def dlq_peek(self, queue: str, limit: int = 10) -> list[DeadLetter]:
        return [
            DeadLetter(
                id=message.event.id,
                type=message.event.type,
                body=message.event.body,
                attempts=message.failures,
                error=message.error,
                headers={ATTEMPT_HEADER: message.failures, ERROR_HEADER: message.error},
            )
            for message in self._existing(queue).dead[:limit]
        ]

    async def dlq_replay(self, queue: str, limit: int | None = None) -> int:
        target = self._existing(queue)
        count = len(target.dead) if limit is None else min(limit, len(target.dead))
        replayed, target.dead[:count] = target.dead[:count], []
        for message in replayed:
            target.ready.put_nowait(_Message(message.event))
        return count


class _Subscription:
    """Takes what is ready in its queue, up to a batch, and hands it to the handler."""

    def __init__(
        self,
        queue: _Queue,
        handler: BatchHandler,
        delays: list[int],
        *,
        max_batch: int,
        drain_timeout: float,
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._delays = delays
        self._max_batch = max_batch
        self._drain_timeout = drain_timeout
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name=f"consumer {self._queue.name}")

    async def _work(self) -> None:
        ready = self._queue.ready
        while True:
            batch = [await ready.get()]
            if 0 < ready.qsize() < self._max_batch - 1:
                await asyncio.sleep(BATCH_LINGER)  # streaming: let the batch fill
            while len(batch) < self._max_batch and not ready.empty():
                batch.append(ready.get_nowait())
            try:
                await self._deliver(batch)
            finally:
                for _ in batch:
                    ready.task_done()

    async def _deliver(self, batch: list[_Message]) -> None:
        deliveries = [
            Delivery(id=m.event.id, type=m.event.type, body=m.event.body, attempt=m.failures + 1)
            for m in batch
        ]
        try:
            outcomes = await handle_batch(self._handler, deliveries)
        except asyncio.CancelledError:
            for message in batch:  # not acknowledged: they stay queued
                self._queue.ready.put_nowait(message)
            raise
        for message, delivery, error in zip(batch, deliveries, outcomes, strict=True):
            if error is None:
                continue
            failed = replace(message, failures=delivery.attempt, error=describe(error))
            delay = retry_delay_ms(self._queue.name, delivery, error, self._delays)
            if delay is None:
                self._queue.dead.append(failed)
            else:
                self._queue.later(delay, failed)

    async def cancel(self) -> None:
        # Drain what is ready so that a clean stop loses nothing; messages waiting for a
        # retry delay stay in the queue for the next subscription on this instance.
        try:
            await asyncio.wait_for(self._queue.ready.join(), self._drain_timeout)
        except TimeoutError:
            log.warning("%s not drained within %ss", self._queue.name, self._drain_timeout)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
