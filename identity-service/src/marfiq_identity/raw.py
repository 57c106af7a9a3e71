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
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection

from marfiq_shared.db import Database


class _Checkout:
    """A connection drawn straight from the engine's pool (no `Connection` objects around
    it: that wrapping cost ~100 µs of CPU per transaction), wrapped only if the ORM needs it."""

    __slots__ = ("_database", "_fairy", "_wrapped", "driver")

    def __init__(self, database: Database, fairy: PoolProxiedConnection) -> None:
        self._database = database
        self._fairy = fairy
        self._wrapped: AsyncConnection | None = None
        self.driver: Any = fairy.driver_connection

    def connection(self) -> AsyncConnection:
        """The same pooled connection as SQLAlchemy's `AsyncConnection`, made once."""
        if self._wrapped is None:
            engine = self._database.engine
            self._wrapped = AsyncConnection(engine, Connection(engine.sync_engine, self._fairy))
        return self._wrapped

    async def release(self) -> None:
        """Back to the pool; a connection lost under driver statements (database restarted)
        is discarded, or it would fail every later request that draws it."""
        if self.driver.is_closed():
            await self._database.discard(self._fairy)
        if self._wrapped is not None:
            await self._wrapped.close()
        else:
            await self._database.checkin(self._fairy)


@asynccontextmanager
async def _checkout(database: Database) -> AsyncIterator[_Checkout]:
    checkout = _Checkout(database, await database.checkout())
    try:
        yield checkout
    finally:
        await checkout.release()


class RawTransaction:
    """One transaction on a pooled connection: asyncpg for the hot path, and an ORM session
    joined to it on demand."""

    __slots__ = ("_checkout", "_session", "driver")

    def __init__(self, checkout: _Checkout) -> None:
        self._checkout = checkout
        self._session: AsyncSession | None = None
        self.driver: Any = checkout.driver

    def session(self) -> AsyncSession:
        """An ORM session in this very transaction (with the service's outbox), made once.

        Its own transaction is a savepoint inside this one (asyncpg nests it), committed
        when the block ends normally.
        """
        if self._session is None:
            database = self._checkout._database
            self._session = database.sessionmaker(bind=self._checkout.connection())
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
    async with _checkout(database) as checkout:
        transaction = RawTransaction(checkout)
        async with checkout.driver.transaction():
            try:
                yield transaction
                await transaction._commit_session()
            finally:
                await transaction._close()


@asynccontextmanager
async def raw_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection outside any transaction, for work that is one statement
    (atomic on its own): no BEGIN and COMMIT round trips around it."""
    async with _checkout(database) as checkout:
        yield checkout.driver


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
