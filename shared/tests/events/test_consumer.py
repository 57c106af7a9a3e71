"""The consumer's driver path: batches of `DriverHandler`s applied on a driver transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from conftest import administration_created
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from marfiq_shared.db import ConnectionLost, Database, JoinedTransaction
from marfiq_shared.events import (
    AdministrationCreated,
    AdministrationUpdated,
    CloudEvent,
    EventData,
    add_event,
)
from marfiq_shared.events import inbox as inbox_module
from marfiq_shared.events.consumer import Consumer, DriverHandler
from marfiq_shared.events.outbox import on_outbox_commit
from marfiq_shared.events.transport import Delivery
from marfiq_shared.testing import TcpProxy


def delivery(data: EventData, event_id: str | None = None) -> Delivery:
    event = CloudEvent(source="test", type=data.type, data=data.model_dump(mode="json"))
    if event_id is not None:
        event = event.model_copy(update={"id": event_id})
    return Delivery(event.id, event.type, event.to_json(), 1)


def created() -> AdministrationCreated:
    return administration_created()


def updated() -> AdministrationUpdated:
    return AdministrationUpdated(**created().model_dump())


def driver_consumer(database: Database, service: Any, handle: Any) -> Consumer:
    """The consumer of queue "q" applying AdministrationCreated with `handle` on the driver."""
    return Consumer(
        database, service.inbox, {AdministrationCreated.type: DriverHandler(handle)}, queue="q"
    )


async def inbox_ids(service: Any) -> set[uuid.UUID]:
    async with service.database.sessionmaker() as session:
        return set((await session.execute(select(service.inbox.c.id))).scalars())


async def test_a_driver_batch_commits_the_inbox_and_the_handlers_writes_together(
    service: Any,
) -> None:
    given: list[object] = []
    failing: set[str] = set()

    async def handle(transaction: JoinedTransaction, event: CloudEvent, data: Any) -> None:
        given.append(transaction)
        await service.apply(transaction, event, data)
        if event.id in failing:
            raise RuntimeError("refused after writing")

    consumer = driver_consumer(service.database, service, handle)
    good = [delivery(created()) for _ in range(3)]
    assert await consumer(good) == [None, None, None]
    assert len(given) == 3
    assert all(isinstance(t, JoinedTransaction) and t is given[0] for t in given)

    bad = delivery(created())
    failing.add(bad.id)
    [outcome] = await consumer([bad])

    assert isinstance(outcome, RuntimeError)
    ids = {uuid.UUID(d.id) for d in good}
    assert await inbox_ids(service) == ids  # the failed one's claim rolled back too
    assert await service.counts() == dict.fromkeys(ids, 1)


async def test_a_redelivered_event_is_skipped_on_the_driver_path(service: Any) -> None:
    handled: list[str] = []

    async def handle(transaction: JoinedTransaction, event: CloudEvent, data: Any) -> None:
        handled.append(event.id)
        await service.apply(transaction, event, data)

    consumer = driver_consumer(service.database, service, handle)
    first, second = delivery(created()), delivery(created())
    assert await consumer([first]) == [None]
    # Again after a lost ack, and twice within one batch.
    assert await consumer([first, second, second]) == [None, None, None]
    assert await consumer([second]) == [None]

    assert handled == [first.id, second.id]
    assert set((await service.counts()).values()) == {1}


async def test_a_batch_mixing_driver_and_session_handlers_runs_on_the_session(
    service: Any,
) -> None:
    sessions: list[object] = []
    woken: list[int] = []
    outbox = f"{service.outbox.schema}.{service.outbox.name}"
    first, changed = delivery(created()), delivery(updated())

    async def on_session(session: Any, event: CloudEvent, data: Any) -> None:
        sessions.append(session)
        await service.apply(session, event, data)

    async def on_driver(transaction: JoinedTransaction, event: CloudEvent, data: Any) -> None:
        sessions.append(transaction.session())
        # The same transaction: what the session handler wrote before is there.
        count = await transaction.driver.fetchval(
            f"SELECT count FROM {service.applied.schema}.applied WHERE id = $1",
            uuid.UUID(first.id),
        )
        assert count == 1
        await service.apply(transaction, event, data)
        await transaction.driver.execute(
            f"INSERT INTO {outbox} (id, type, payload, created_at)"
            " VALUES ($1, 'test.written', '{}', now())",
            uuid.uuid4(),
        )
        transaction.wrote_events = True

    async def wake() -> None:
        woken.append(await service.unpublished())

    undo = on_outbox_commit(service.source, lambda: asyncio.ensure_future(wake()))
    consumer = Consumer(
        service.database,
        service.inbox,
        {
            AdministrationCreated.type: on_session,
            AdministrationUpdated.type: DriverHandler(on_driver),
        },
        queue="q",
    )
    try:
        assert await consumer([first, changed]) == [None, None]
        await asyncio.sleep(0.1)
    finally:
        undo()

    assert len(sessions) == 2
    assert sessions[0] is sessions[1]  # one transaction, the ORM's
    assert await service.counts() == {uuid.UUID(first.id): 1, uuid.UUID(changed.id): 1}
    assert await inbox_ids(service) == {uuid.UUID(first.id), uuid.UUID(changed.id)}
    assert woken == [1]  # the relay told of the driver handler's row, after the commit


async def test_a_driver_handler_may_join_a_session_to_its_transaction(service: Any) -> None:
    given: list[JoinedTransaction] = []
    in_transaction_at_wake_up: list[bool] = []
    refuse = False

    async def handle(transaction: JoinedTransaction, event: CloudEvent, data: Any) -> None:
        given.append(transaction)
        await service.apply(transaction, event, data)
        await add_event(transaction.session(), updated())
        if refuse:
            raise RuntimeError("refused")

    def wake() -> None:
        in_transaction_at_wake_up.append(given[-1].driver.is_in_transaction())

    undo = on_outbox_commit(service.source, wake)
    consumer = driver_consumer(service.database, service, handle)
    try:
        refuse = True
        [outcome] = await consumer([delivery(created())])
        assert isinstance(outcome, RuntimeError)
        assert await service.unpublished() == 0
        assert await service.applied_total() == 0

        refuse = False
        assert await consumer([delivery(created())]) == [None]
    finally:
        undo()

    assert await service.unpublished() == 1
    assert await service.applied_total() == 1
    # Woken once, after the real COMMIT, not when the session's savepoint was released
    # (the relay would have found nothing yet).
    assert in_transaction_at_wake_up == [False]


async def test_a_failing_event_in_a_driver_batch_is_isolated_by_halves(
    service: Any,
) -> None:
    batch = [delivery(created()) for _ in range(8)]
    poisoned = batch[5].id
    tries: list[int] = []

    async def handle(transaction: JoinedTransaction, event: CloudEvent, data: Any) -> None:
        await service.apply(transaction, event, data)
        if event.id == poisoned:
            tries.append(1)
            raise ValueError("cannot apply this one")

    consumer = driver_consumer(service.database, service, handle)
    outcomes = await consumer(batch)

    assert [o is None for o in outcomes] == [True] * 5 + [False] + [True] * 2
    assert isinstance(outcomes[5], ValueError)
    assert len(tries) == 4  # 8, then 4, 2, 1: found by halves
    counts = await service.counts()
    assert uuid.UUID(poisoned) not in counts
    assert counts == {uuid.UUID(d.id): 1 for d in batch if d.id != poisoned}


@pytest.fixture
async def proxied(service: Any, database_url: str) -> AsyncIterator[tuple[TcpProxy, Database]]:
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    database = Database(
        target.set(port=proxy.port).render_as_string(hide_password=False),
        schema=str(service.outbox.schema),
        source=service.source,
        outbox=service.outbox,
    )
    yield proxy, database
    await proxy.stop()
    await database.dispose()


async def test_a_connection_lost_in_a_driver_transaction_is_connection_lost(
    service: Any, proxied: tuple[TcpProxy, Database]
) -> None:
    proxy, database = proxied

    async def cut_midway() -> None:
        async with database.joined_transaction() as transaction:
            await transaction.driver.execute("SELECT 1")
            await proxy.cut()
            await transaction.driver.execute("SELECT 1")

    with pytest.raises(ConnectionLost):
        await cut_midway()
    await proxy.restore()
    async with database.joined_transaction() as transaction:
        assert await transaction.driver.fetchval("SELECT 1") == 1  # a fresh connection


async def test_a_connection_lost_on_the_driver_path_waits_for_the_database(
    service: Any, proxied: tuple[TcpProxy, Database]
) -> None:
    proxy, database = proxied
    inside, tries = asyncio.Event(), 0

    async def handle(transaction: JoinedTransaction, event: CloudEvent, data: Any) -> None:
        nonlocal tries
        tries += 1
        inside.set()
        await asyncio.sleep(0.2)  # the connection is cut meanwhile (the first time)
        await service.apply(transaction, event, data)

    consumer = driver_consumer(database, service, handle)
    batch = [delivery(created()) for _ in range(3)]
    consuming = asyncio.create_task(consumer(batch))
    await inside.wait()
    await proxy.cut()
    await asyncio.sleep(1.0)
    assert not consuming.done()  # waiting for the database, not failing the events
    await proxy.restore()

    assert await asyncio.wait_for(consuming, 20) == [None, None, None]
    assert await service.counts() == {uuid.UUID(d.id): 1 for d in batch}
    assert tries == 4  # the first, rolled back with the connection, then all three


async def test_the_claim_statement_is_built_once_per_inbox_table(
    service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    real_insert = inbox_module.insert

    def counting_insert(table: Any) -> Any:
        built.append(table)
        return real_insert(table)

    monkeypatch.setattr(inbox_module, "insert", counting_insert)
    for _ in range(3):
        async with service.database.sessionmaker() as session, session.begin():
            fresh = await inbox_module.claim_events(
                session, service.inbox, [(uuid.uuid4(), AdministrationCreated.type)]
            )
            assert len(fresh) == 1
    assert len(built) == 1  # each test's service has an inbox table of its own
    count = select(func.count()).select_from(service.inbox)
    assert await service.scalar(count) == 3
