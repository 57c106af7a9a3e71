"""The driver connection under a transaction, for the few statements on the sign-in hot path.

Each statement through SQLAlchemy's async layer costs about 150 µs of CPU here, the same
through asyncpg about 20 µs; at hundreds of sign-ins a second that is most of a core. The
repositories of the hot path therefore send their SQL straight to asyncpg, on the very
connection and transaction the caller holds: what they write commits or rolls back with
everything else. ORM objects they touch must be flushed first (`session.flush()`).

The sign-in routes go one step further and open a `RawTransaction` instead of a session: an
ORM session costs another ~250 µs per transaction even when no statement goes through it,
so one is bound to the same connection and transaction only when a rule asks for it
(`orm_session`). Repositories take either (`Executor`), so every other caller and the tests
keep passing their `AsyncSession`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from marfiq_shared.db import Database


class RawTransaction:
    """One transaction on a pooled connection: asyncpg for the hot path, and an ORM session
    joined to it on demand."""

    __slots__ = ("_connection", "_database", "_session", "driver")

    def __init__(self, database: Database, connection: AsyncConnection, driver: Any) -> None:
        self._database = database
        self._connection = connection
        self._session: AsyncSession | None = None
        self.driver = driver

    def session(self) -> AsyncSession:
        """An ORM session in this very transaction (with the service's outbox), made once.

        Its own transaction is a savepoint inside this one (asyncpg nests it), committed
        when the block ends normally.
        """
        if self._session is None:
            self._session = self._database.sessionmaker(bind=self._connection)
        return self._session

    async def _commit_session(self) -> None:
        if self._session is not None:
            await self._session.commit()

    async def _close(self) -> None:
        if self._session is not None:
            await self._session.close()


# What repositories of the hot path take; an asyncpg connection (`raw_connection`) too,
# for a single statement.
Executor: TypeAlias = AsyncSession | RawTransaction | asyncpg.Connection


@asynccontextmanager
async def raw_transaction(database: Database) -> AsyncIterator[RawTransaction]:
    """A transaction that commits when the block ends normally and rolls back otherwise.

    asyncpg sends BEGIN and COMMIT itself: SQLAlchemy's adapter would begin only with the
    first statement sent through it, and statements sent straight to the driver before
    that would each commit on their own.
    """
    async with database.engine.connect() as connection:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        transaction = RawTransaction(database, connection, raw)
        try:
            async with raw.transaction():
                try:
                    yield transaction
                    await transaction._commit_session()
                finally:
                    await transaction._close()
        finally:
            await _discard_if_lost(connection, raw)


@asynccontextmanager
async def raw_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection outside any transaction, for work that is one statement
    (atomic on its own): no BEGIN and COMMIT round trips around it."""
    async with database.engine.connect() as connection:
        raw: Any = (await connection.get_raw_connection()).driver_connection
        try:
            yield raw
        finally:
            await _discard_if_lost(connection, raw)


async def _discard_if_lost(connection: AsyncConnection, raw: Any) -> None:
    # SQLAlchemy invalidates a connection that fails under its own statements; these go
    # straight to the driver, so a connection lost under them (database restarted) would
    # otherwise go back to the pool and fail every later request that draws it.
    if raw.is_closed():
        await connection.invalidate()


async def driver(session: Executor) -> Any:
    """The asyncpg connection in the caller's current transaction."""
    if isinstance(session, RawTransaction):
        return session.driver
    if not isinstance(session, AsyncSession):
        return session  # a `raw_connection`
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        # SQLAlchemy's adapter sends BEGIN with the first statement it executes; have it
        # do so now, or what is sent straight to the driver would run outside the
        # session's transaction (advisory locks released at once, refusals not undone).
        await connection.exec_driver_sql("SELECT 1")
    return raw


def orm_session(session: Executor) -> AsyncSession:
    """An ORM session in the caller's transaction, for the rules off the hot path."""
    if isinstance(session, RawTransaction):
        return session.session()
    if not isinstance(session, AsyncSession):
        raise TypeError("a rule that needs the ORM was given a bare connection")
    return session
