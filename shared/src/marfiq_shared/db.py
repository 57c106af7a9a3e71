"""Database plumbing: one async engine per service, bound to the service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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

    @asynccontextmanager
    async def joined_transaction(self) -> AsyncIterator[JoinedTransaction]:
        """A driver transaction begun at once, to which an ORM session joins on first use
        (`JoinedTransaction.session()`): committed when the block ends normally, rolled
        back otherwise, a lost connection handled as by `driver_transaction`.

        For work that is a few driver statements in a transaction (an event consumer's
        batch, a sign-in) but may need the ORM now and then: the session and SQLAlchemy's
        transaction around it cost ~1 ms of CPU more per transaction, paid only when asked.
        """
        pooled = await self.checkout()
        connection: Any = pooled.driver_connection
        wrapped: AsyncConnection | None = None

        def join() -> AsyncSession:
            nonlocal wrapped
            # The same pooled connection as SQLAlchemy's, no second checkout.
            wrapped = AsyncConnection(self.engine, Connection(self.engine.sync_engine, pooled))
            return self.sessionmaker(bind=wrapped)

        transaction = JoinedTransaction(connection, self.source, join)
        try:
            try:
                # asyncpg sends BEGIN and COMMIT: SQLAlchemy's adapter would begin only with
                # its first statement, and driver statements before it would each commit
                # alone. A session's own transaction nests in this one as a savepoint.
                async with connection.transaction():
                    try:
                        yield transaction
                        await transaction._commit_session()
                    finally:
                        await transaction._close_session()
            except Exception as error:
                # Through the session it comes wrapped by SQLAlchemy: look at the causes.
                if not _caused_by_lost_connection(error):
                    raise
                await greenlet_spawn(self.engine.sync_engine.pool._invalidate, pooled, error)
                raise ConnectionLost(str(error)) from error
        finally:
            if connection.is_closed() and pooled.is_valid:
                await self.discard(pooled)  # lost in a way not recognised above
            if wrapped is not None:
                await wrapped.close()
            else:
                await self.checkin(pooled)
        if transaction.wrote_events:
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


# `DriverTransaction._transaction` of a `JoinedTransaction`: begun by whoever made it.
_BEGUN_OUTSIDE: Any = object()


class JoinedTransaction(DriverTransaction):
    """A `DriverTransaction` already begun, with an ORM session in the very same
    transaction made on first use (`session()`).

    `driver` is the asyncpg connection, inside the transaction. Whoever made it begins and
    ends the transaction (`Database.joined_transaction`, or an ORM session's owner handing
    its connection to driver code), so `begin()` only returns the connection.
    """

    __slots__ = ("_join", "_session", "driver")

    def __init__(
        self, connection: asyncpg.Connection, source: str, join: Callable[[], AsyncSession]
    ) -> None:
        super().__init__(connection, source)
        self._transaction = _BEGUN_OUTSIDE
        self._join = join
        self._session: AsyncSession | None = None
        self.driver = connection

    def session(self) -> AsyncSession:
        """An ORM session in this transaction (with the service's outbox), made once.

        Pending ORM changes are not seen by driver statements until flushed
        (`session.flush()`)."""
        if self._session is None:
            self._session = self._join()
        return self._session

    async def _commit_session(self) -> None:
        session = self._session
        if session is None:
            return
        # Imported here: the events package imports this module.
        from marfiq_shared.events.outbox import take_written_events

        # Events the session added wake the relays after the real COMMIT, not after the
        # session's savepoint is released (the relay would find nothing yet).
        if take_written_events(session):
            self.wrote_events = True
        await session.commit()

    async def _close_session(self) -> None:
        if self._session is not None:
            await self._session.close()


async def session_driver(session: AsyncSession) -> Any:
    """The asyncpg connection under `session`, inside the session's transaction.

    SQLAlchemy's adapter sends BEGIN lazily, with the first statement it executes: one
    sent straight to the driver before that would run outside the transaction (and
    survive its rollback), so the transaction is begun now if it was not yet.
    """
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    if not driver.is_in_transaction():
        await connection.exec_driver_sql("SELECT 1")
    return driver


class ConnectionLost(ConnectionError):
    """The database connection broke under a driver transaction (answered 503)."""


def _connection_lost(error: BaseException) -> bool:
    # asyncpg's errors when the server shut down, restarted or the socket is gone; a
    # closed connection refuses work with an InterfaceError that says so.
    return isinstance(
        error, OSError | asyncpg.PostgresConnectionError | asyncpg.OperatorInterventionError
    ) or (isinstance(error, asyncpg.InterfaceError) and "closed" in str(error))


def _caused_by_lost_connection(error: BaseException) -> bool:
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return False
        if _connection_lost(seen):
            return True
        seen = seen.__cause__
    return False


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
