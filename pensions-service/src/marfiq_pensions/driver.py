"""The asyncpg connection under a session, for COPY and array statements in its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def driver_connection(session: AsyncSession) -> Any:
    """The session's asyncpg connection, its transaction begun.

    SQLAlchemy sends BEGIN lazily with the first statement; a COPY sent straight to the
    driver before that would run outside the transaction and survive a rollback.
    """
    connection = await session.connection()
    await connection.exec_driver_sql("SELECT 1")
    raw = await connection.get_raw_connection()
    return raw.driver_connection
