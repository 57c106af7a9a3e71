"""Delivery guarantees that hold the same on both transports."""

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from marfiq_shared.db import Database
from marfiq_shared.events import (
    AdministrationCreated,
    CloudEvent,
    EventRuntime,
    InProcessTransport,
    OutgoingEvent,
    RabbitMQTransport,
    Transport,
)
from marfiq_shared.events.consumer import DriverHandler
from marfiq_shared.settings import MarfiqSettings
from marfiq_shared.testing import TcpProxy, require_url


@dataclass
class Bus:
    transport: Transport
    settings: MarfiqSettings
    queue: str
    on_driver: bool  # handlers registered as `DriverHandler`: batches run on the driver
    runtimes: list[EventRuntime] = field(default_factory=list)

    async def start(self, service, handler, database: Database | None = None) -> EventRuntime:
        runtime = EventRuntime(
            database or service.database,
            self.transport,
            queue=self.queue,
            subscriptions={
                AdministrationCreated.type: DriverHandler(handler) if self.on_driver else handler
            },
            outbox=service.outbox,
            inbox=service.inbox,
            settings=self.settings,
        )
        await runtime.start()
        self.runtimes.append(runtime)
        return runtime


@pytest.fixture(params=["session", "driver"])
def path(request: pytest.FixtureRequest) -> str:
    """The consumer's transaction: an ORM session, or the driver's (`DriverHandler`)."""
    return str(request.param)


@pytest.fixture(params=["in-process", "rabbitmq"])
async def bus(request: pytest.FixtureRequest, broker, path: str) -> AsyncIterator[Bus]:
    on_driver = path == "driver"
    if request.param == "rabbitmq":
        require_url(broker.url, "RabbitMQ")
        found = Bus(
            RabbitMQTransport(broker.url, broker.exchange, reconnect_interval=0.5),
            broker.settings(),
            broker.queue(f"delivery-{uuid.uuid4().hex[:6]}"),
            on_driver,
        )
    else:
        settings = MarfiqSettings(
            amqp_url=None, event_retry_delays_ms=[50, 100], event_relay_idle_ms=20
        )
        found = Bus(InProcessTransport(), settings, "delivery", on_driver)
    yield found
    for runtime in found.runtimes:
        await runtime.stop()


async def outbox_envelopes(service) -> list[OutgoingEvent]:
    async with service.database.sessionmaker() as session:
        rows = await session.execute(
            select(service.outbox.c.id, service.outbox.c.type, service.outbox.c.payload)
        )
        return [OutgoingEvent(str(row.id), row.type, row.payload) for row in rows]


async def test_redelivered_events_are_applied_once(service, bus: Bus, eventually) -> None:
    await bus.start(service, service.apply)
    ids = await service.add_events(500)

    async def all_applied() -> bool:
        return await service.applied_total() == len(ids)

    await eventually(all_applied)
    # The broker delivers the very same events again (as after a lost ack), twice over.
    envelopes = await outbox_envelopes(service)
    await bus.transport.publish(envelopes)
    await bus.transport.publish(envelopes[:100])
    await asyncio.sleep(0.5)
    await bus.runtimes[0].stop()

    counts = await service.counts()
    assert set(counts) == {uuid.UUID(i) for i in ids}
    assert set(counts.values()) == {1}
    inbox = await service.scalar(select(func.count()).select_from(service.inbox))
    assert inbox == len(ids)


async def test_failing_handler_retries_with_back_off_then_dead_letters(
    service, bus: Bus, eventually
) -> None:
    attempts: defaultdict[str, list[float]] = defaultdict(list)
    healthy = False

    async def flaky(session, event: CloudEvent, data: object) -> None:
        attempts[event.id].append(time.monotonic())
        if not healthy:
            raise RuntimeError("registry unavailable")
        await service.apply(session, event, data)

    await bus.start(service, flaky)
    [event_id] = await service.add_events(1)

    async def dead_lettered() -> bool:
        return await bus.transport.dlq_count(bus.queue) == 1

    await eventually(dead_lettered, within=10)
    tries = attempts[event_id]
    assert len(tries) == 3  # the first try and one per configured delay (50 ms, 100 ms)
    assert tries[1] - tries[0] >= 0.045
    assert tries[2] - tries[1] >= 0.095
    assert await service.applied_total() == 0

    [letter] = await bus.transport.dlq_peek(bus.queue)
    assert letter.id == event_id
    assert letter.type == AdministrationCreated.type
    assert letter.attempts == 3
    assert "registry unavailable" in (letter.error or "")
    assert CloudEvent.from_json(letter.body).id == event_id
    assert await bus.transport.dlq_count(bus.queue) == 1, "peeking leaves it in place"

    healthy = True
    assert await bus.transport.dlq_replay(bus.queue) == 1

    async def applied() -> bool:
        return await service.applied_total() == 1

    await eventually(applied)
    assert await bus.transport.dlq_count(bus.queue) == 0
    assert len(attempts[event_id]) == 4


async def test_malformed_event_is_dead_lettered_without_retries(
    service, bus: Bus, eventually
) -> None:
    handled: list[str] = []

    async def handler(session, event: CloudEvent, data: object) -> None:
        handled.append(event.id)

    await bus.start(service, handler)
    bad = CloudEvent(source="test", type=AdministrationCreated.type, data={"code": "X"})
    await bus.transport.publish([OutgoingEvent(bad.id, bad.type, bad.to_json())])

    async def dead_lettered() -> bool:
        return await bus.transport.dlq_count(bus.queue) == 1

    await eventually(dead_lettered, within=10)
    [letter] = await bus.transport.dlq_peek(bus.queue)
    assert letter.attempts == 1
    assert "validation error" in (letter.error or "")
    assert handled == []


async def test_one_failing_event_holds_back_no_other(service, bus: Bus, eventually) -> None:
    poisoned: set[str] = set()

    async def handler(session, event: CloudEvent, data: object) -> None:
        if event.id in poisoned:
            raise ValueError("cannot apply this one")
        await service.apply(session, event, data)

    await bus.start(service, handler)
    # Everything must reach the consumer together so that batches form.
    await bus.runtimes[0].relay.stop()
    ids = await service.add_events(300)
    poisoned.add(ids[150])
    bus.runtimes[0].relay.start()

    async def settled() -> bool:
        dead = await bus.transport.dlq_count(bus.queue)
        return dead == 1 and await service.applied_total() == 299

    await eventually(settled, within=20)
    counts = await service.counts()
    assert uuid.UUID(ids[150]) not in counts
    assert set(counts.values()) == {1}


async def test_database_outage_spends_no_retries(
    service, bus: Bus, database_url: str, eventually
) -> None:
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    through_proxy = Database(
        target.set(port=proxy.port).render_as_string(hide_password=False),
        schema=service.outbox.schema,
        source=service.source,
        outbox=service.outbox,
    )
    runtime = await bus.start(service, service.apply, database=through_proxy)
    await runtime.relay.stop()  # published by hand below
    ids = await service.add_events(20)
    try:
        await proxy.cut()
        await bus.transport.publish(await outbox_envelopes(service))
        await asyncio.sleep(1.0)  # far longer than all retry delays (50 ms, 100 ms)
        assert await service.applied_total() == 0
        await proxy.restore()

        async def applied() -> bool:
            return await service.applied_total() == len(ids)

        await eventually(applied, within=20)
        assert await bus.transport.dlq_count(bus.queue) == 0
        assert set((await service.counts()).values()) == {1}
    finally:
        await proxy.stop()
        await runtime.stop()
        await through_proxy.dispose()
