"""Wiring of one service's event backbone: its relay and its subscription."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Table

from marfiq_shared.db import Database
from marfiq_shared.events.consumer import Consumer, Handler
from marfiq_shared.events.inprocess import InProcessTransport
from marfiq_shared.events.outbox import SOURCE_KEY
from marfiq_shared.events.rabbitmq import RabbitMQTransport
from marfiq_shared.events.relay import OutboxRelay
from marfiq_shared.events.transport import Subscription, Transport
from marfiq_shared.settings import MarfiqSettings

_in_process: InProcessTransport | None = None


def make_transport(
    settings: MarfiqSettings, *, in_process: InProcessTransport | None = None
) -> Transport:
    """RabbitMQ when `amqp_url` is set; otherwise the in-process transport.

    Without `in_process`, every caller in the process gets the same instance, which is
    what the embedded mode needs: all services on one bus.
    """
    if settings.amqp_url:
        return RabbitMQTransport(
            settings.amqp_url, settings.event_exchange, name=settings.service_name
        )
    if in_process is not None:
        return in_process
    global _in_process
    if _in_process is None:
        _in_process = InProcessTransport()
    return _in_process


class EventRuntime:
    """A service's relay (publishing its outbox) and its subscription (its handlers).

    Several services on one in-process transport: call `start_consuming` on every one
    before `start_relaying` on any, since an in-process queue exists only once its
    consumer subscribed (RabbitMQ's durable queues outlive the process).
    """

    def __init__(
        self,
        database: Database,
        transport: Transport,
        *,
        queue: str,
        subscriptions: Mapping[str, Handler],
        outbox: Table,
        inbox: Table,
        settings: MarfiqSettings,
        max_batch: int = 100,
    ) -> None:
        self.transport = transport
        self.queue = queue
        self._subscriptions = dict(subscriptions)
        self._settings = settings
        self._max_batch = max_batch
        self.consumer = Consumer(database, inbox, self._subscriptions, queue=queue)
        self.relay = OutboxRelay(
            database,
            transport,
            outbox,
            source=database.sessionmaker.kw["info"][SOURCE_KEY],
            batch_size=settings.event_relay_batch,
            idle_ms=settings.event_relay_idle_ms,
        )
        self._subscription: Subscription | None = None
        self._open = False

    async def start(self) -> None:
        """Subscribe, then start relaying (so nothing is published to a missing queue)."""
        await self.start_consuming()
        self.start_relaying()

    async def start_consuming(self) -> None:
        """Open the transport and, if the service handles events, subscribe its queue."""
        if not self._open:
            await self.transport.open()
            self._open = True
        if self._subscriptions and self._subscription is None:
            self._subscription = await self.transport.subscribe_batches(
                self.queue,
                list(self._subscriptions),
                self.consumer,
                prefetch=self._settings.event_prefetch,
                retry_delays_ms=self._settings.event_retry_delays_ms,
                max_batch=self._max_batch,
            )

    def start_relaying(self) -> None:
        """Start publishing the outbox (the transport must be open)."""
        self.relay.start()

    async def stop(self) -> None:
        """Stop relaying, let running handlers finish and acknowledge, then disconnect."""
        await self.relay.stop()
        if self._subscription is not None:
            await self._subscription.cancel()
            self._subscription = None
        if self._open:
            await self.transport.close()
            self._open = False
