"""Behaviour that only a real broker can show: confirms, lost connections, crash loops."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
from sqlalchemy import func, select

from marfiq_shared.events import (
    AdministrationCreated,
    Delivery,
    EventRuntime,
    OutgoingEvent,
    RabbitMQTransport,
    UnknownQueue,
)
from marfiq_shared.testing import TcpProxy


@pytest.fixture
async def proxy(rabbitmq) -> AsyncIterator[TcpProxy]:
    """A cuttable link to the broker."""
    found = TcpProxy(*rabbitmq.host_port)
    await found.start()
    yield found
    await found.stop()


def via_proxy(rabbitmq, proxy: TcpProxy, **options) -> RabbitMQTransport:
    return RabbitMQTransport(
        rabbitmq.url_via(proxy.port), rabbitmq.exchange, reconnect_interval=0.3, **options
    )


def runtime_for(service, transport, queue: str, settings) -> EventRuntime:
    return EventRuntime(
        service.database,
        transport,
        queue=queue,
        subscriptions={AdministrationCreated.type: service.apply},
        outbox=service.outbox,
        inbox=service.inbox,
        settings=settings,
    )


async def test_ten_thousand_events_cross_broker_cuts_exactly_once(
    service, rabbitmq, proxy: TcpProxy, eventually
) -> None:
    total = 10_000
    transport = via_proxy(rabbitmq, proxy, publish_timeout=3)
    runtime = runtime_for(service, transport, rabbitmq.queue("cuts"), rabbitmq.settings())
    await runtime.start()

    async def produce() -> None:
        for _ in range(20):
            await service.add_events(total // 20)
            await asyncio.sleep(0.05)

    producer = asyncio.create_task(produce())
    pending_at_cut: list[int] = []
    for threshold in (1_500, 6_000):

        async def reached(threshold: int = threshold) -> bool:
            return await service.applied_total() >= threshold

        await eventually(reached, within=30)
        pending_at_cut.append(total - await service.applied_total())
        await proxy.cut()  # both connections drop: publishes and acks in flight are lost
        await asyncio.sleep(0.5)
        await proxy.restore()
    await producer

    async def all_applied() -> bool:
        return await service.applied_total() == total and await service.unpublished() == 0

    await eventually(all_applied, within=40)
    await asyncio.sleep(1.0)  # room for a late redelivery to show up as a second count
    await runtime.stop()

    assert all(pending > 0 for pending in pending_at_cut), "each cut hit work in progress"
    counts = await service.counts()
    assert len(counts) == total
    assert set(counts.values()) == {1}
    inbox = await service.scalar(select(func.count()).select_from(service.inbox))
    assert inbox == total


async def test_rows_wait_in_the_outbox_while_the_broker_is_unreachable(
    service, rabbitmq, proxy: TcpProxy, eventually
) -> None:
    transport = via_proxy(rabbitmq, proxy, publish_timeout=0.5)
    runtime = runtime_for(service, transport, rabbitmq.queue("outage"), rabbitmq.settings())
    await runtime.start()
    assert transport.is_connected
    await proxy.cut()

    ids = await service.add_events(50)
    await asyncio.sleep(1.5)
    assert not transport.is_connected, "readiness sees the outage"
    assert await service.unpublished() == 50
    tries = await service.scalar(select(func.min(service.outbox.c.attempts)))
    assert tries >= 1, "the relay tried, failed, and kept the rows"

    await proxy.restore()

    async def applied() -> bool:
        return await service.applied_total() == len(ids)

    await eventually(applied, within=20)
    assert transport.is_connected
    await runtime.stop()
    assert await service.unpublished() == 0


async def test_publish_returns_once_the_broker_holds_every_event(rabbitmq) -> None:
    transport = RabbitMQTransport(rabbitmq.url, rabbitmq.exchange)
    await transport.open()
    queue = rabbitmq.queue("confirms")
    subscription = await transport.subscribe(
        queue, ["test.confirm.*"], _never_called, prefetch=1, retry_delays_ms=[]
    )
    await subscription.cancel()  # declared and bound, nobody consuming
    events = [OutgoingEvent(str(uuid.uuid4()), "test.confirm.sent", b"{}") for _ in range(2_000)]

    await transport.publish(events)

    connection = await aio_pika.connect(rabbitmq.url)
    channel = await connection.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await connection.close()
    await transport.close()
    assert declared.declaration_result.message_count == len(events)


async def _never_called(delivery: Delivery) -> None:
    raise AssertionError("no consumer expected")


async def test_message_that_keeps_killing_its_consumer_is_dead_lettered(
    rabbitmq, proxy: TcpProxy, eventually
) -> None:
    consumer = via_proxy(rabbitmq, proxy, delivery_limit=1)
    operator = RabbitMQTransport(rabbitmq.url, rabbitmq.exchange)
    await consumer.open()
    await operator.open()
    queue = rabbitmq.queue("crash")
    deliveries: list[bool] = []
    crashed = asyncio.Event()

    async def dies_with_its_process(delivery: Delivery) -> None:
        deliveries.append(delivery.redelivered)
        await crashed.wait()  # the connection is gone before anything is acknowledged

    subscription = await consumer.subscribe(
        queue, ["test.crash.happened"], dies_with_its_process, prefetch=1, retry_delays_ms=[10]
    )
    await operator.publish([OutgoingEvent(str(uuid.uuid4()), "test.crash.happened", b"{}")])
    for seen in (1, 2):

        async def delivered(seen: int = seen) -> bool:
            return len(deliveries) == seen

        await eventually(delivered, within=15)
        await proxy.cut()
        crashed.set()
        await asyncio.sleep(0.1)
        crashed.clear()
        await proxy.restore()

    async def dead_lettered() -> bool:
        return await operator.dlq_count(queue) == 1

    await eventually(dead_lettered, within=15)
    [letter] = await operator.dlq_peek(queue)
    assert deliveries == [False, True]
    assert "delivery_limit" in (letter.error or "")
    await subscription.cancel()
    await consumer.close()
    await operator.close()


async def test_dead_letter_queue_of_an_unknown_queue_is_an_error(rabbitmq) -> None:
    transport = RabbitMQTransport(rabbitmq.url, rabbitmq.exchange)
    await transport.open()
    try:
        with pytest.raises(UnknownQueue):
            await transport.dlq_count(f"{rabbitmq.exchange}.nobody")
    finally:
        await transport.close()


async def test_opening_without_a_broker_fails_at_once(rabbitmq, proxy: TcpProxy) -> None:
    await proxy.cut()
    transport = via_proxy(rabbitmq, proxy)

    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
        await transport.open()

    assert not transport.is_connected


async def test_stop_does_not_hang_while_the_broker_is_unreachable(
    service, rabbitmq, proxy: TcpProxy
) -> None:
    transport = via_proxy(rabbitmq, proxy, publish_timeout=1)
    runtime = runtime_for(service, transport, rabbitmq.queue("stop"), rabbitmq.settings())
    await runtime.start()
    await service.add_events(5)
    await proxy.cut()
    await asyncio.sleep(0.5)

    async with asyncio.timeout(15):
        await runtime.stop()

    assert not transport.is_connected


async def test_declaring_again_unbinds_the_types_a_service_retired(rabbitmq) -> None:
    transport = RabbitMQTransport(rabbitmq.url, rabbitmq.exchange)
    await transport.open()
    queue = rabbitmq.queue("retired")
    kept, retired = "test.retired.kept", "test.retired.gone"
    await transport.declare(queue, [kept, retired], retry_delays_ms=[])
    await transport.declare(queue, [kept], retry_delays_ms=[], retired=[retired, "never.bound"])

    await transport.publish(
        [OutgoingEvent(str(uuid.uuid4()), event_type, b"{}") for event_type in (kept, retired)]
    )

    connection = await aio_pika.connect(rabbitmq.url)
    channel = await connection.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await connection.close()
    await transport.close()
    assert declared.declaration_result.message_count == 1  # the kept type's only
