"""The driver connection under a transaction, for the few statements on the sign-in hot path.

Each statement through SQLAlchemy's async layer costs about 150 µs of CPU here, the same
through asyncpg about 20 µs; at hundreds of sign-ins a second that is most of a core. The
repositories of the hot path therefore send their SQL straight to asyncpg, on the very
connection and transaction the caller holds: what they write commits or rolls back with
everything else. ORM objects they touch must be flushed first (`session.flush()`).

The sign-in routes go one step further and open a `RawTransaction` (shared's
`JoinedTransaction`) instead of a session: an ORM session costs another ~250 µs per
transaction even when no statement goes through it, so one is bound to the same connection
and transaction only when a rule asks for it (`orm_session`). Repositories take either
(`Executor`), so every other caller and the tests keep passing their `AsyncSession`; the
event consumer gives its driver handlers the same `JoinedTransaction`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeAlias

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_shared.db import Database, JoinedTransaction, session_driver

# One transaction on a pooled connection: asyncpg for the hot path (`.driver`), and an ORM
# session joined to it on demand (`.session()`), as the event consumer's driver handlers get.
RawTransaction: TypeAlias = JoinedTransaction


# What repositories of the hot path take; an asyncpg connection (`raw_connection`) too,
# for a single statement.
Executor: TypeAlias = AsyncSession | RawTransaction | asyncpg.Connection


def raw_transaction(database: Database) -> AbstractAsyncContextManager[RawTransaction]:
    """A transaction that commits when the block ends normally and rolls back otherwise."""
    return database.joined_transaction()


@asynccontextmanager
async def raw_connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """A pooled asyncpg connection outside any transaction, for work that is one statement
    (atomic on its own): no BEGIN and COMMIT round trips around it."""
    # Straight from the engine's pool: no `Connection` objects around it (that wrapping
    # cost ~100 µs of CPU per transaction).
    pooled = await database.checkout()
    connection: Any = pooled.driver_connection
    try:
        yield connection
    finally:
        # A connection lost under driver statements (database restarted) is discarded,
        # or it would fail every later request that draws it.
        if connection.is_closed():
            await database.discard(pooled)
        await database.checkin(pooled)


async def driver(session: Executor) -> Any:
    """The asyncpg connection in the caller's current transaction."""
    if isinstance(session, RawTransaction):
        return session.driver
    if not isinstance(session, AsyncSession):
        return session  # a `raw_connection`
    return await session_driver(session)


def orm_session(session: Executor) -> AsyncSession:
    """An ORM session in the caller's transaction, for the rules off the hot path."""
    if isinstance(session, RawTransaction):
        return session.session()
    if not isinstance(session, AsyncSession):
        raise TypeError("a rule that needs the ORM was given a bare connection")
    return session
