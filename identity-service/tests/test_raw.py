"""Statements sent straight to the driver run inside the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from marfiq_identity.db import SCHEMA
from marfiq_identity.raw import driver, orm_session, raw_connection, raw_transaction
from marfiq_shared.db import ConnectionLost, Database
from marfiq_shared.testing import free_port


@pytest.fixture
async def database(database_url: str, clean: None) -> AsyncIterator[Database]:
    database = Database(database_url, schema=SCHEMA, source="identity-test", pool_size=2)
    yield database
    await database.dispose()


async def _challenges(database: Database, challenge_id: uuid.UUID) -> int:
    async with raw_transaction(database) as transaction:
        count: int = await transaction.driver.fetchval(
            "SELECT count(*) FROM identity.eid_challenges WHERE id = $1", challenge_id
        )
    return count


async def _add(connection: object, challenge_id: uuid.UUID) -> None:
    await connection.execute(  # type: ignore[attr-defined]
        "INSERT INTO identity.eid_challenges (id, nonce, created_at, expires_at)"
        " VALUES ($1, '\\x0102030405060708', now(), now() + interval '1 minute')",
        challenge_id,
    )


async def test_a_session_sends_begin_before_the_first_driver_statement(
    database: Database,
) -> None:
    challenge_id = uuid.uuid4()

    async def refused() -> None:
        async with database.sessionmaker() as session, session.begin():
            connection = await driver(session)
            await _add(connection, challenge_id)
            assert connection.is_in_transaction()
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await refused()

    assert await _challenges(database, challenge_id) == 0


async def test_a_raw_transaction_rolls_back_driver_and_orm_work_on_error(
    database: Database,
) -> None:
    written, via_orm = uuid.uuid4(), uuid.uuid4()

    async def refused() -> None:
        async with raw_transaction(database) as transaction:
            await _add(transaction.driver, written)
            await _add(await driver(orm_session(transaction)), via_orm)
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await refused()

    assert await _challenges(database, written) == 0
    assert await _challenges(database, via_orm) == 0


async def test_a_raw_transaction_commits_driver_and_orm_work(database: Database) -> None:
    from sqlalchemy import text

    written, via_orm = uuid.uuid4(), uuid.uuid4()
    async with raw_transaction(database) as transaction:
        await _add(transaction.driver, written)
        await orm_session(transaction).execute(
            text(
                "INSERT INTO identity.eid_challenges (id, nonce, created_at, expires_at)"
                " VALUES (:id, '\\x0102030405060708', now(), now() + interval '1 minute')"
            ),
            {"id": via_orm},
        )

    assert await _challenges(database, written) == 1
    assert await _challenges(database, via_orm) == 1


async def test_a_connection_lost_under_driver_statements_is_not_handed_out_again(
    database_url: str, clean: None
) -> None:
    # One connection in the pool and no pre-ping: what comes back must be a live one.
    database = Database(database_url, schema=SCHEMA, source="identity-test", pool_size=1)
    try:
        async with raw_transaction(database) as transaction:
            pid = await transaction.driver.fetchval("SELECT pg_backend_pid()")
        async with raw_connection(database) as other:
            await other.execute("SELECT 1")  # the same pooled connection, still alive
        async with _admin(database_url) as admin:
            await admin.fetchval("SELECT pg_terminate_backend($1)", pid)

        async def lost() -> None:
            async with raw_transaction(database) as transaction:
                await transaction.driver.fetchval("SELECT 1")

        with pytest.raises(Exception):  # noqa: B017 (asyncpg says it in several ways)
            await lost()
        async with raw_transaction(database) as transaction:
            assert await transaction.driver.fetchval("SELECT pg_backend_pid()") != pid
    finally:
        await database.dispose()


class _admin:
    """A connection of its own, outside the pool under test."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await asyncpg.connect(self._url)
        return self._connection

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()


async def test_a_database_out_of_reach_is_a_lost_connection_not_an_unhandled_error(
    database_url: str,
) -> None:
    # Nothing listens there: the checkout itself fails, and must be the service's 503.
    url = make_url(database_url).set(host="127.0.0.1", port=free_port())
    database = Database(url.render_as_string(hide_password=False), schema=SCHEMA, source="t")
    try:
        with pytest.raises(ConnectionLost):
            async with raw_transaction(database):
                pass
        with pytest.raises(ConnectionLost):
            async with raw_connection(database):
                pass
    finally:
        await database.dispose()
