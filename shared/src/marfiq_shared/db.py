"""Database plumbing: one async engine per service, bound to the service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Metadata for one service: every table in its schema, constraints named predictably."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (as operators write them) and select asyncpg."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """Engine and session factory of one service.

    Sessions carry the service's outbox table and event source in `session.info`, so
    business code publishes with `add_event(session, ...)` and nothing else.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str,
        source: str,
        outbox: Table | None = None,
        pool_size: int = 10,
        pre_ping: bool = False,
        application_name: str | None = None,
    ) -> None:
        self.schema = schema
        self.source = source
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            # A ping is one more round trip per transaction. Without it a connection that
            # died (database restarted) fails the one transaction that meets it; the error
            # is a disconnect, so SQLAlchemy discards every connection opened before it and
            # the next transactions open fresh ones (tests/test_faults.py proves recovery).
            pool_pre_ping=pre_ping,
            connect_args={"server_settings": {"application_name": application_name or source}},
        )
        info: dict[str, Any] = {"marfiq_source": source, "marfiq_outbox": outbox}
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, info=info)

    @asynccontextmanager
    async def driver_transaction(self) -> AsyncIterator[DriverTransaction]:
        """A unit of work on a pooled connection driven through asyncpg itself: committed
        when the block ends normally, rolled back otherwise (see `DriverTransaction`).

        For a hot path of a few hand-written statements: an ORM session and SQLAlchemy's
        statement layer cost about 350 µs of CPU per transaction more than the statements
        themselves (measured: 560 against 220 µs for one statement). A connection found
        broken (the database restarted) renews the pool as SQLAlchemy's own disconnect
        handling does, and the request answers 503 (`ConnectionLost`).
        """
        pooled = await self.checkout()
        try:
            transaction = DriverTransaction(pooled.driver_connection, self.source)
            try:
                try:
                    yield transaction
                except BaseException:
                    await transaction._end(commit=False)
                    raise
                await transaction._end(commit=True)
            except Exception as error:
                if not _connection_lost(error):
                    raise
                # Every connection opened before this moment is presumed dead, as
                # SQLAlchemy presumes after a disconnect error on its own path.
                await greenlet_spawn(self.engine.sync_engine.pool._invalidate, pooled, error)
                raise ConnectionLost(str(error)) from error
        finally:
            await self.checkin(pooled)
        if transaction.wrote_events:
            # Imported here: the events package imports this module.
            from marfiq_shared.events.outbox import wake_relays

            wake_relays(self.source)

    async def checkout(self) -> PoolProxiedConnection:
        """A connection straight from the pool, for driver statements; `close()` returns it.

        No `AsyncConnection` around it, whose making and closing cost ~50 µs of CPU per
        transaction (in process, 200 -> 150 µs for one statement). Checking out may connect:
        with the server out of reach that raises the driver's error in SQLAlchemy's adapter
        (no `Connection` turns it into a DBAPIError here), raised as `ConnectionLost` (503).
        """
        try:
            return await self.engine.raw_connection()
        except Exception as error:
            cause = error.__cause__
            if not (_connection_lost(error) or (cause is not None and _connection_lost(cause))):
                raise
            raise ConnectionLost(str(error)) from error

    async def checkin(self, pooled: PoolProxiedConnection) -> None:
        """Return a connection from `checkout()` to the pool.

        The pool closes it instead when it is full (a connection opened beyond `pool_size`
        under a burst), and closing an asyncpg connection must run where SQLAlchemy can
        await: called bare, the close failed (MissingGreenlet, logged as an error) and left
        the server's connection open until the garbage collector found it. Entering that
        context costs ~11 µs, so it is paid only when the pool will close the connection
        (no await between the check and the return: nothing else checks in meanwhile).
        """
        pool = self.engine.sync_engine.pool
        if pooled.is_valid and pool.checkedin() < pool.size():  # type: ignore[attr-defined]
            pooled.close()
        else:
            await greenlet_spawn(pooled.close)

    async def discard(self, pooled: PoolProxiedConnection) -> None:
        """Close a connection from `checkout()` found broken, rather than pool it."""
        await greenlet_spawn(pooled.invalidate)

    async def dispose(self) -> None:
        await self.engine.dispose()


class DriverTransaction:
    """The asyncpg connection of an open `driver_transaction`, and the event source of
    the service it belongs to.

    BEGIN is sent when `begin()` is first called, not before: a unit of work that is one
    statement (`only`) needs no BEGIN and no COMMIT, since Postgres runs a single statement
    atomically by itself; on loopback each of those round trips costs as much CPU as the
    statement (the sending process pays for the kernel's delivery).
    """

    __slots__ = ("_alone", "_connection", "_transaction", "source", "wrote_events")

    def __init__(self, connection: asyncpg.Connection, source: str) -> None:
        self._connection = connection
        self._transaction: Any = None
        self._alone = False
        self.source = source
        # Set by whoever inserts outbox rows: the relay is woken after the commit.
        self.wrote_events = False

    async def begin(self) -> asyncpg.Connection:
        """The connection, inside the transaction (BEGIN on the first call)."""
        if self._transaction is None:
            if self._alone:
                raise RuntimeError("a statement already ran on its own: begin() first")
            self._transaction = self._connection.transaction()
            await self._transaction.start()
        return self._connection

    async def only(self, query: str, *args: Any) -> Any:
        """Run `query` (its first row, or None) as a unit of work of its own: inside the
        transaction when one was begun, else alone, atomic by itself, without BEGIN and
        COMMIT. After it, `begin()` is refused; `only` may run again only when the previous
        one wrote nothing (a retry), since each of them commits on its own."""
        if self._transaction is None:
            self._alone = True
        return await self._connection.fetchrow(query, *args)

    async def _end(self, *, commit: bool) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await (transaction.commit() if commit else transaction.rollback())


class ConnectionLost(ConnectionError):
    """The database connection broke under a driver transaction (answered 503)."""


def _connection_lost(error: BaseException) -> bool:
    # asyncpg's errors when the server shut down, restarted or the socket is gone; a
    # closed connection refuses work with an InterfaceError that says so.
    return isinstance(
        error, OSError | asyncpg.PostgresConnectionError | asyncpg.OperatorInterventionError
    ) or (isinstance(error, asyncpg.InterfaceError) and "closed" in str(error))


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The request is the transaction boundary: services never commit, this does, once,
    # before the response is sent (scope="function"), so a failed commit is never a 2xx.
    database: Database = request.app.state.db
    async with database.sessionmaker() as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def _request_driver(request: Request) -> AsyncIterator[DriverTransaction]:
    # The same boundary as `Session`, on the driver: committed before the response.
    database: Database = request.app.state.db
    async with database.driver_transaction() as transaction:
        yield transaction


Driver = Annotated[DriverTransaction, Depends(_request_driver, scope="function")]
