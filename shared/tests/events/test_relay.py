import asyncio
from collections import Counter

from prometheus_client import REGISTRY

from marfiq_shared.events import Delivery, InProcessTransport, OutboxRelay


async def recording(transport: InProcessTransport, received: list[str]) -> None:
    """Open `transport` with a queue that records every id it receives."""

    async def record(delivery: Delivery) -> None:
        received.append(delivery.id)

    await transport.open()
    await transport.subscribe("recorder", ["#"], record, prefetch=1, retry_delays_ms=[])


async def test_two_relays_publish_each_row_exactly_once(service, eventually) -> None:
    ids = await service.add_events(3_000)
    transports = [InProcessTransport(), InProcessTransport()]
    received: list[list[str]] = [[], []]
    for transport, seen in zip(transports, received, strict=True):
        await recording(transport, seen)
    relays = [
        OutboxRelay(service.database, t, service.outbox, source=service.source, batch_size=50)
        for t in transports
    ]

    for relay in relays:
        relay.start()
    await eventually(lambda: _drained(service))
    for relay in relays:
        await relay.stop()

    # A row is marked sent once its transport took it; the recorders get it a moment
    # later (a loaded machine makes that moment longer). Wait for every id, then a little
    # more, so that a duplicate still on its way would be counted too.
    async def all_received() -> bool:
        return set(received[0] + received[1]) == set(ids)

    await eventually(all_received)
    await asyncio.sleep(0.2)

    everything = Counter(received[0] + received[1])
    assert set(everything) == set(ids)
    assert set(everything.values()) == {1}
    assert all(received), "both relays took a share of the work"


async def _drained(service) -> bool:
    return await service.unpublished() == 0


async def test_commit_wakes_the_relay_before_its_poll_interval(service, eventually) -> None:
    transport = InProcessTransport()
    received: list[str] = []
    await recording(transport, received)
    relay = OutboxRelay(
        service.database, transport, service.outbox, source=service.source, idle_ms=60_000
    )
    relay.start()
    await asyncio.sleep(0.2)  # the relay found nothing and sleeps for a minute

    [event_id] = await service.add_events(1)

    async def arrived() -> bool:
        return received == [event_id]

    await eventually(arrived, within=2)
    await relay.stop()


async def test_relay_reports_backlog_and_published_count(service, eventually) -> None:
    transport = InProcessTransport()
    await recording(transport, [])
    relay = OutboxRelay(service.database, transport, service.outbox, source=service.source)
    await service.add_events(5)

    before = await relay.backlog()
    assert before.count == 5
    assert REGISTRY.get_sample_value("marfiq_outbox_backlog", {"source": service.source}) == 5
    relay.start()
    await eventually(lambda: _drained(service))
    await relay.stop()

    after = await relay.backlog()
    assert (after.count, after.oldest_age_seconds) == (0, 0.0)
    published = REGISTRY.get_sample_value(
        "marfiq_events_published_total", {"source": service.source}
    )
    assert published == 5
