"""The driver connection under a session, for the few statements on the sign-in hot path.

Each statement through SQLAlchemy's async layer costs about 150 µs of CPU here, the same
through asyncpg about 20 µs; at hundreds of sign-ins a second that is most of a core. The
repositories of the hot path therefore send their SQL straight to asyncpg, on the very
connection and transaction the session holds: what they write commits or rolls back with
everything else. ORM objects they touch must be flushed first (`session.flush()`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection in the session's current transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection
