"""Database plumbing: driver transactions commit or roll back as one, wake the relay after
a commit that wrote events, and both paths recover from lost connections without pre-ping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import make_url

from marfiq_shared.db import ConnectionLost, Database
from marfiq_shared.events.outbox import on_outbox_commit
from marfiq_shared.testing import (
    TcpProxy,
    create_database,
    drop_database,
    free_port,
    postgres_admin_url,
    require_url,
)


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    admin = postgres_admin_url()
    require_url(admin, "Postgres")
    url = await create_database(admin, prefix="marfiq_db_test")
    setup = Database(url, schema="public", source="setup")
    async with setup.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE notes (id int PRIMARY KEY)"))
    await setup.dispose()
    yield url
    await drop_database(admin, url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, schema="public", source="db-test")
    yield database
    await database.dispose()


@pytest.fixture
async def proxied(database_url: str) -> AsyncIterator[tuple[Database, TcpProxy]]:
    target = make_url(database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    database = Database(
        target.set(port=proxy.port).render_as_string(hide_password=False),
        schema="public",
        source="db-test",
        pool_size=2,
    )
    yield database, proxy
    await database.dispose()
    await proxy.stop()


async def notes(database: Database) -> list[int]:
    async with database.engine.connect() as connection:
        return list((await connection.scalars(text("SELECT id FROM notes ORDER BY id"))).all())


async def write_then_fail(database: Database, statement: str) -> None:
    """A transaction that writes (events too) and then fails a rule."""
    async with database.driver_transaction() as transaction:
        await (await transaction.begin()).execute(statement)
        transaction.wrote_events = True
        raise RuntimeError("the rule refused")


async def test_a_driver_transaction_commits_at_the_end_or_not_at_all(database: Database) -> None:
    async with database.driver_transaction() as transaction:
        connection = await transaction.begin()
        await connection.execute("INSERT INTO notes VALUES (1)")
        await transaction.only("INSERT INTO notes VALUES (2)")  # joins the transaction
    with pytest.raises(RuntimeError):
        await write_then_fail(database, "INSERT INTO notes VALUES (3)")
    assert await notes(database) == [1, 2]


async def test_a_statement_alone_commits_by_itself_and_nothing_may_follow_it(
    database: Database,
) -> None:
    async with database.driver_transaction() as transaction:
        await transaction.only("INSERT INTO notes VALUES (1)")
        with pytest.raises(RuntimeError, match="begin"):
            await transaction.begin()
    assert await notes(database) == [1]


async def test_the_relay_is_woken_after_a_commit_that_wrote_events_only(
    database: Database,
) -> None:
    woken: list[str] = []
    undo = on_outbox_commit("db-test", lambda: woken.append("woken"))
    try:
        async with database.driver_transaction():
            pass
        assert woken == []
        with pytest.raises(RuntimeError):
            await write_then_fail(database, "SELECT 1")
        assert woken == []
        async with database.driver_transaction() as transaction:
            transaction.wrote_events = True
        assert woken == ["woken"]
    finally:
        undo()


async def server_connections(database_url: str, application_name: str) -> int:
    """How many connections the server holds open for `application_name`."""
    admin = Database(database_url, schema="public", source="counting")
    try:
        async with admin.engine.connect() as connection:
            count = await connection.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name},
            )
    finally:
        await admin.dispose()
    return int(count or 0)


async def test_connections_beyond_the_pool_size_are_closed_when_returned(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # One pooled connection, one more under a burst: returning the second closes it.
    database = Database(database_url, schema="public", source="burst", pool_size=1)

    async def hold() -> None:
        async with database.driver_transaction() as transaction:
            await (await transaction.begin()).execute("SELECT pg_sleep(0.05)")

    try:
        with caplog.at_level("ERROR"):
            await asyncio.gather(hold(), hold())
        assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
        # Closed by the client, not left for the garbage collector to find.
        assert await server_connections(database_url, "burst") == 1
        assert database.engine.sync_engine.pool.checkedin() == 1  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def fill_pool(database: Database) -> None:
    """Both pooled connections opened and idle, as after a busy moment."""

    async def hold() -> None:
        async with database.driver_transaction() as transaction:
            await (await transaction.begin()).execute("SELECT pg_sleep(0.05)")

    await asyncio.gather(hold(), hold())


async def test_a_lost_connection_fails_one_driver_transaction_then_the_pool_is_fresh(
    proxied: tuple[Database, TcpProxy],
) -> None:
    database, proxy = proxied
    await fill_pool(database)
    await proxy.cut()  # as a database restart does: every pooled connection dies
    await proxy.restore()

    with pytest.raises(ConnectionLost):
        async with database.driver_transaction() as transaction:
            await transaction.only("INSERT INTO notes VALUES (1)")
    # The other pooled connection died too, but is not handed out again: no second failure.
    for note in (2, 3):
        async with database.driver_transaction() as transaction:
            await (await transaction.begin()).execute(f"INSERT INTO notes VALUES ({note})")
    assert await notes(database) == [2, 3]


async def test_a_lost_connection_fails_one_session_then_the_pool_is_fresh(
    proxied: tuple[Database, TcpProxy],
) -> None:
    database, proxy = proxied
    await fill_pool(database)
    await proxy.cut()
    await proxy.restore()

    with pytest.raises(exc.DBAPIError) as lost:
        async with database.sessionmaker() as session, session.begin():
            await session.execute(text("INSERT INTO notes VALUES (1)"))
    assert lost.value.connection_invalidated
    for note in (2, 3):
        async with database.sessionmaker() as session, session.begin():
            await session.execute(text(f"INSERT INTO notes VALUES ({note})"))
    assert await notes(database) == [2, 3]


async def test_a_database_out_of_reach_fails_a_driver_transaction_as_a_lost_connection(
    database_url: str,
) -> None:
    # Nothing listens there: checking a connection out is what fails, before any statement,
    # and it must be the same 503 as a connection lost mid-way, not an unhandled error.
    url = make_url(database_url).set(host="127.0.0.1", port=free_port())
    database = Database(url.render_as_string(hide_password=False), schema="public", source="t")
    try:
        with pytest.raises(ConnectionLost):
            async with database.driver_transaction() as transaction:
                await transaction.only("SELECT 1")
    finally:
        await database.dispose()
