"""Database plumbing: one async engine per service, bound to the service's own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import MetaData, Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The request is the transaction boundary: services never commit, this does, once,
    # before the response is sent (scope="function"), so a failed commit is never a 2xx.
    database: Database = request.app.state.db
    async with database.sessionmaker() as session, session.begin():
        yield session


Session = Annotated[AsyncSession, Depends(_request_session, scope="function")]
