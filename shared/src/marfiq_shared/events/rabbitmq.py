"""RabbitMQ transport: one durable topic exchange, a quorum queue per consuming service.

Broker layout for a consuming service's queue `q` (all quorum, all durable):

    <exchange> --type--> q  --(handler failed n times)--> q.retry.<n> --TTL--> q
                          \\--(delivery limit: consumer crashed on it)--> q.dlq
    q --(handler failed after the last retry, or poison)--> q.dlq

Handler failures are retried through per-attempt delay queues (their TTL is the back-off,
the expired message dead-letters back to `q`); `x-delivery-limit` covers what a handler
cannot report: a message that crashes or hangs its consumer is dead-lettered after that
many deliveries instead of looping forever (quorum queues on 3.10 have no default limit).
Dead-lettering is at-least-once, so the broker never drops a message between queues.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast

import aio_pika
import aiormq
from aio_pika import DeliveryMode, ExchangeType, Message
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelNotFoundEntity
from pamqp import commands as spec

from marfiq_shared.events.transport import (
    ATTEMPT_HEADER,
    BATCH_LINGER,
    ERROR_HEADER,
    BatchHandler,
    DeadLetter,
    Delivery,
    OutgoingEvent,
    PublishFailed,
    Subscription,
    Transport,
    UnknownQueue,
    describe,
    handle_batch,
    retry_delay_ms,
)

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cloudevents+json"  # CloudEvents AMQP binding, structured mode


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


def retry_name(queue: str, attempt: int) -> str:
    return f"{queue}.retry.{attempt}"


def _dead_letter_to(queue: str) -> dict[str, Any]:
    return {
        "x-dead-letter-exchange": "",  # the default exchange routes by queue name
        "x-dead-letter-routing-key": queue,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",  # required by at-least-once dead-lettering
    }


class RabbitMQTransport(Transport):
    """Publishes with confirms on one connection, consumes on another.

    Separate connections so that the broker's flow control on publishers never stalls
    the acknowledgements of consumers. Both reconnect by themselves (robust connections
    restore the exchange, queues, bindings and consumers).
    """

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        *,
        delivery_limit: int = 10,
        max_in_flight: int = 500,
        publish_timeout: float = 30.0,
        reconnect_interval: float = 2.0,
        name: str = "marfiq",
    ) -> None:
        super().__init__()
        self._url = amqp_url
        self._exchange_name = exchange
        self._delivery_limit = delivery_limit
        self._max_in_flight = max_in_flight
        self._publish_timeout = publish_timeout
        self._reconnect_interval = reconnect_interval
        self._name = name
        self._publisher: AbstractRobustConnection | None = None
        self._consumer: AbstractRobustConnection | None = None
        self._publishing: AbstractRobustChannel | None = None

    @property
    def is_connected(self) -> bool:
        return all(
            connection is not None and connection.connected.is_set() and not connection.is_closed
            for connection in (self._publisher, self._consumer)
        )

    async def _connect(self) -> None:
        try:
            self._publisher = await self._connection("publish")
            self._consumer = await self._connection("consume")
            self._publishing = await self._publisher.channel(publisher_confirms=True)
            await self._declare_exchange(self._publishing)  # restored on reconnection
        except BaseException:
            await self._disconnect()  # no half-open transport left behind
            raise

    async def _connection(self, role: str) -> AbstractRobustConnection:
        return await aio_pika.connect_robust(
            self._url,
            reconnect_interval=self._reconnect_interval,
            client_properties={"connection_name": f"{self._name} {role}"},
        )

    async def _disconnect(self) -> None:
        for connection in (self._consumer, self._publisher):
            if connection is not None:
                await _quietly(connection.close())
        self._publisher = self._consumer = self._publishing = None

    async def _declare_exchange(self, channel: AbstractChannel) -> AbstractExchange:
        return await channel.declare_exchange(self._exchange_name, ExchangeType.TOPIC, durable=True)

    def _consumer_connection(self) -> AbstractRobustConnection:
        if self._consumer is None:
            raise RuntimeError("transport is not open")
        return self._consumer

    def _channel(self) -> AbstractRobustChannel:
        if self._publishing is None:
            raise RuntimeError("transport is not open")
        return self._publishing

    async def publish(self, events: Sequence[OutgoingEvent]) -> None:
        if self._channel().is_closed:
            # Reconnecting: fail now rather than hold the relay's transaction open.
            raise PublishFailed("not connected to the broker")
        try:
            async with asyncio.timeout(self._publish_timeout):
                # The channel of the moment: after a reconnection it is a new one.
                channel = cast(aiormq.Channel, await self._channel().get_underlay_channel())
                results: list[object] = []
                for start in range(0, len(events), self._max_in_flight):
                    chunk = events[start : start + self._max_in_flight]
                    sends = (self._send(channel, event) for event in chunk)
                    results += await asyncio.gather(*sends, return_exceptions=True)
        except TimeoutError as error:
            raise PublishFailed(f"no confirm within {self._publish_timeout}s") from error
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise PublishFailed(
                f"{len(failures)} of {len(events)} events not confirmed"
            ) from failures[0]

    async def _send(self, channel: aiormq.Channel, event: OutgoingEvent) -> None:
        # Straight to the AMQP channel: aio-pika's publish waits until each frame is
        # written before the next may go, a fifth of the relay's time at this volume.
        # Hundreds in flight: awaiting each confirm in turn caps a channel near 1,000/s.
        confirmation = await channel.basic_publish(
            event.body,
            exchange=self._exchange_name,
            routing_key=event.type,
            properties=spec.Basic.Properties(
                content_type=CONTENT_TYPE,
                delivery_mode=DeliveryMode.PERSISTENT.value,
                message_id=event.id,
                message_type=event.type,
            ),
            mandatory=False,  # a type nobody subscribes to yet is not an error
            wait=False,
        )
        if not isinstance(confirmation, spec.Basic.Ack):  # a nack raises DeliveryError
            raise PublishFailed(f"event {event.id}: {confirmation!r}")

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
        # Confirms and returns on this channel: a retry or dead-letter copy must be safely
        # in its queue before the original is acknowledged.
        channel = await self._consumer_connection().channel(
            publisher_confirms=True, on_return_raises=True
        )
        await channel.set_qos(prefetch_count=prefetch)
        main = await self._declare_queues(channel, queue, list(event_types), retry_delays_ms)
        subscription = _Subscription(
            channel, main, handler, list(retry_delays_ms), max(1, min(max_batch, prefetch))
        )
        await subscription.start()
        return subscription

    async def declare(
        self,
        queue: str,
        event_types: Iterable[str],
        *,
        retry_delays_ms: Sequence[int],
        retired: Iterable[str] = (),
    ) -> None:
        """Declare a consumer's queues and bindings without consuming (a deployment step).

        A topic exchange drops what no queue is bound to yet: declaring every service's
        queue before any relay publishes means nothing is lost on the very first start.
        Bindings only ever add up on a durable queue, so the types a service stopped
        consuming (`retired`) are unbound here: else the queue would keep receiving them
        and the consumer acknowledge each with a warning that it has no handler.
        """
        channel = await self._consumer_connection().channel()
        try:
            main = await self._declare_queues(channel, queue, list(event_types), retry_delays_ms)
            exchange = await self._declare_exchange(channel)
            for event_type in retired:
                await main.unbind(exchange, routing_key=event_type)  # absent: nothing to do
        finally:
            await channel.close()

    async def _declare_queues(
        self,
        channel: AbstractChannel,
        queue: str,
        event_types: list[str],
        retry_delays_ms: Sequence[int],
    ) -> AbstractQueue:
        exchange = await self._declare_exchange(channel)
        await channel.declare_queue(
            dlq_name(queue), durable=True, arguments={"x-queue-type": "quorum"}
        )
        main = await channel.declare_queue(
            queue,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self._delivery_limit,
                **_dead_letter_to(dlq_name(queue)),
            },
        )
        for attempt, delay in enumerate(retry_delays_ms, start=1):
            # The delay is fixed per queue, so messages expire in order at its head.
            await channel.declare_queue(
                retry_name(queue, attempt),
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": delay,
                    **_dead_letter_to(queue),
                },
            )
        for event_type in event_types:
            await main.bind(exchange, routing_key=event_type)
        return main

    @asynccontextmanager
    async def _dlq(self, queue: str) -> AsyncIterator[tuple[AbstractRobustChannel, AbstractQueue]]:
        # A channel of its own: a passive declare of a missing queue closes the channel.
        channel = await self._consumer_connection().channel(
            publisher_confirms=True, on_return_raises=True
        )
        try:
            try:
                dlq = await channel.declare_queue(dlq_name(queue), passive=True, robust=False)
            except ChannelNotFoundEntity:
                raise UnknownQueue(dlq_name(queue)) from None
            yield channel, dlq
        finally:
            # Messages taken and not acknowledged go back to the queue here.
            await _quietly(channel.close())

    async def dlq_count(self, queue: str) -> int:
        async with self._dlq(queue) as (_, dlq):
            return int(dlq.declaration_result.message_count or 0)

    async def dlq_peek(self, queue: str, limit: int = 10) -> list[DeadLetter]:
        taken: list[AbstractIncomingMessage] = []
        async with self._dlq(queue) as (channel, dlq):
            while len(taken) < limit:
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                taken.append(message)
            for message in taken:
                await message.nack(requeue=True)
            # The queue applies returns asynchronously: wait until they are counted again,
            # so that a count or a replay right after a peek finds what was peeked.
            async with asyncio.timeout(5):
                # Polling: the broker sends no notice when a returned message is back.
                while await self._ready(channel, dlq.name) < len(taken):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        return [_dead_letter(message) for message in taken]

    @staticmethod
    async def _ready(channel: AbstractRobustChannel, name: str) -> int:
        declared = await channel.declare_queue(name, passive=True, robust=False)
        return int(declared.declaration_result.message_count or 0)

    async def dlq_replay(self, queue: str, limit: int | None = None) -> int:
        replayed = 0
        async with self._dlq(queue) as (channel, dlq):
            present = int(dlq.declaration_result.message_count or 0)
            todo = present if limit is None else min(limit, present)
            while replayed < todo:
                message = await dlq.get(no_ack=False, fail=False)
                if message is None:
                    break
                # A fresh start: drop our attempt count and the broker's x-death history.
                headers = message.headers or {}
                fresh = {k: v for k, v in headers.items() if not k.startswith("x-")}
                copy = _copy(message, fresh)
                await channel.default_exchange.publish(copy, routing_key=queue, mandatory=True)
                await message.ack()
                replayed += 1
        return replayed


async def _quietly(closing: Awaitable[object]) -> None:
    """Close or cancel without hanging: with the broker gone, a robust channel would wait
    for the reconnection before it even tries, and there is nothing left to save."""
    try:
        async with asyncio.timeout(5):
            await closing
    except (AMQPError, RuntimeError, TimeoutError) as error:
        log.debug("closing while disconnected: %r", error)


def _copy(message: AbstractIncomingMessage, headers: dict[str, Any]) -> Message:
    return Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        delivery_mode=DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        type=message.type,
    )


def _dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    headers = dict(message.headers or {})
    error = headers.get(ERROR_HEADER)
    reason = headers.get("x-first-death-reason")  # set when the broker dead-lettered it
    if error is None and reason is not None:
        error = f"dead-lettered by the broker: {_text(reason)}"
    attempts = headers.get(ATTEMPT_HEADER, headers.get("x-delivery-count", 0))
    return DeadLetter(
        id=message.message_id or "",
        type=message.type or "",
        body=message.body,
        attempts=attempts if isinstance(attempts, int) else 0,
        error=_text(error) if error is not None else None,
        headers=headers,
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else str(value)


class _Subscription:
    """The consumer of one queue: batches deliveries, then acks, retries or dead-letters."""

    def __init__(
        self,
        channel: AbstractChannel,
        queue: AbstractQueue,
        handler: BatchHandler,
        retry_delays_ms: list[int],
        max_batch: int,
        drain_timeout: float = 30.0,
    ) -> None:
        self._drain_timeout = drain_timeout
        self._channel = channel
        self._queue = queue
        self._handler = handler
        self._delays = retry_delays_ms
        self._max_batch = max_batch
        self._tag: str | None = None
        self._waiting: list[AbstractIncomingMessage] = []
        self._draining: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._tag = await self._queue.consume(self._on_message, no_ack=False)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Deliveries queue up while a batch is being handled and form the next one:
        # under load batches grow, when idle each message goes through alone.
        self._waiting.append(message)
        if self._draining is None:
            self._draining = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                try:
                    await self._handle(batch)
                except Exception:
                    # A fault of ours, not of the events: give them back for another try.
                    log.exception("%s: batch of %d not handled", self._queue.name, len(batch))
                    for message in batch:
                        await _settle(message, ack=False)
                if 0 < len(self._waiting) < self._max_batch:
                    await asyncio.sleep(BATCH_LINGER)
        finally:
            self._draining = None

    async def _handle(self, batch: list[AbstractIncomingMessage]) -> None:
        deliveries = [_delivery(message) for message in batch]
        outcomes = await handle_batch(self._handler, deliveries)
        failures = [
            (message, delivery, error)
            for message, delivery, error in zip(batch, deliveries, outcomes, strict=True)
            if error is not None
        ]
        returned = set()
        if failures:
            parked = await asyncio.gather(*(self._park(*failure) for failure in failures))
            for (message, _, _), ok in zip(failures, parked, strict=True):
                if not ok:
                    # Not parked anywhere: give it back. The redelivery counts towards
                    # the delivery limit, so this cannot loop for ever either.
                    await _settle(message, ack=False)
                    returned.add(id(message))
        await _acknowledge([m for m in batch if id(m) not in returned])

    async def _park(
        self, message: AbstractIncomingMessage, delivery: Delivery, error: Exception
    ) -> bool:
        """Copy a failed message to its retry queue or the DLQ; False if that failed."""
        delay = retry_delay_ms(self._queue.name, delivery, error, self._delays)
        target = (
            dlq_name(self._queue.name)
            if delay is None
            else retry_name(self._queue.name, delivery.attempt)
        )
        headers = {
            **(message.headers or {}),
            ATTEMPT_HEADER: delivery.attempt,
            ERROR_HEADER: describe(error),
        }
        try:
            await self._channel.default_exchange.publish(
                _copy(message, headers), routing_key=target, mandatory=True
            )
        except Exception:
            log.exception("could not move event %s to %s", delivery.id, target)
            return False
        return True

    async def cancel(self) -> None:
        if self._tag is not None:
            if not self._channel.is_closed:  # else the broker has forgotten the consumer
                await _quietly(self._queue.cancel(self._tag))
            self._tag = None
        # Let the batch in progress (and what already arrived) finish and be acknowledged.
        await asyncio.sleep(0)  # deliveries already read are appended first
        draining = self._draining
        if draining is not None:
            try:
                await asyncio.wait_for(asyncio.shield(draining), timeout=self._drain_timeout)
            except TimeoutError:
                log.warning("%s: handlers still busy at stop; abandoned", self._queue.name)
                draining.cancel()
                await asyncio.gather(draining, return_exceptions=True)
            except Exception:
                log.exception("%s: last batch failed at stop", self._queue.name)
        # Prefetched messages not yet acknowledged return to the queue with the channel.
        await _quietly(self._channel.close())


def _delivery(message: AbstractIncomingMessage) -> Delivery:
    failures = (message.headers or {}).get(ATTEMPT_HEADER, 0)
    return Delivery(
        id=message.message_id or "",
        type=message.type or message.routing_key or "",
        body=message.body,
        attempt=(failures if isinstance(failures, int) else 0) + 1,
        redelivered=bool(message.redelivered),
    )


async def _acknowledge(messages: list[AbstractIncomingMessage]) -> None:
    """Acknowledge handled messages with one frame per channel where possible.

    Batches are handled one after the other, in delivery order, so when a batch is done
    every earlier delivery on its channel is settled: a `multiple` ack of the highest tag
    covers the whole batch (tags of messages handed back were nacked just before).
    """
    last: dict[int, AbstractIncomingMessage] = {}
    for message in messages:
        key = id(_channel_of(message))
        if key not in last or (message.delivery_tag or 0) > (last[key].delivery_tag or 0):
            last[key] = message
    for message in last.values():
        await _settle(message, ack=True, multiple=True)


def _channel_of(message: AbstractIncomingMessage) -> object:
    # Tags count per channel: after a reconnect, messages of the old channel cannot be
    # acknowledged on the new one (and need not be: the broker requeued them).
    try:
        return message.channel
    except (AMQPError, RuntimeError):  # closed: ChannelInvalidStateError is a RuntimeError
        return None


async def _settle(message: AbstractIncomingMessage, *, ack: bool, multiple: bool = False) -> None:
    try:
        if ack:
            await message.ack(multiple=multiple)
        else:
            await message.nack(requeue=True)
    except (AMQPError, RuntimeError) as error:
        # The channel this came on is gone: the broker redelivers the message, and the
        # consumer's inbox turns that redelivery into a no-op.
        log.info("ack of %s lost (%r); it will be redelivered", message.message_id, error)
