"""`Idempotency-Key` for creating POSTs: a replay returns the first answer.

The key row is inserted in the same transaction as the creation. A concurrent request
with the same key blocks on that row until the first commits, then replays its answer;
if the first rolled back, the second proceeds as a first attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_shared.db import DriverTransaction
from marfiq_shared.problems import Problem

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Client-chosen key; a replay within 24 h returns the first answer.",
    ),
]


class IdempotencyKeyReused(Problem):
    status, code = 422, "idempotency-key-reused"


def idempotency_table(metadata: MetaData) -> Table:
    """The table of remembered answers, in the service's own schema."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("owner", String(128), primary_key=True),
        Column("key", String(128), primary_key=True),
        Column("fingerprint", LargeBinary(32), nullable=False),
        Column("status", Integer, nullable=True),
        Column("body", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    )


def fingerprint(method: str, path: str, payload: Any) -> bytes:
    """What the key promises: the same method, path and body."""
    return hashlib.sha256(
        orjson.dumps([method, path, payload], option=orjson.OPT_SORT_KEYS, default=str)
    ).digest()


M = TypeVar("M", bound=BaseModel)


async def run_once(
    session: AsyncSession | DriverTransaction,
    table: Table,
    *,
    owner: str,
    key: str | None,
    request_fingerprint: bytes,
    create: Callable[[], Awaitable[M]],
    model: type[M],
) -> tuple[M, bool]:
    """Run `create` once per (owner, key); return its result and whether it is a replay.

    `session` is the request's transaction: an ORM session, or a driver transaction."""
    if key is None:
        return await create(), False
    store = (
        _DriverStore(session, table)
        if isinstance(session, DriverTransaction)
        else _SessionStore(session, table)
    )
    if not await store.claim(owner, key, request_fingerprint):
        remembered, body = await store.recall(owner, key)
        if remembered != request_fingerprint:
            raise IdempotencyKeyReused()
        return model.model_validate(body), True
    result = await create()
    await store.remember(owner, key, result.model_dump(mode="json"))
    return result, False


class _SessionStore:
    """The three statements of `run_once` in an ORM session."""

    def __init__(self, session: AsyncSession, table: Table) -> None:
        self._session = session
        self._table = table

    async def claim(self, owner: str, key: str, request_fingerprint: bytes) -> bool:
        table = self._table
        inserted = await self._session.execute(
            insert(table)
            .values(
                owner=owner, key=key, fingerprint=request_fingerprint, created_at=datetime.now(UTC)
            )
            .on_conflict_do_nothing()
            .returning(table.c.key)
        )
        return inserted.first() is not None

    async def recall(self, owner: str, key: str) -> tuple[bytes, Any]:
        table = self._table
        statement = select(table.c.fingerprint, table.c.body).where(
            table.c.owner == owner, table.c.key == key
        )
        row = (await self._session.execute(statement)).one()
        return row.fingerprint, row.body

    async def remember(self, owner: str, key: str, body: Any) -> None:
        table = self._table
        await self._session.execute(
            table.update()
            .where(table.c.owner == owner, table.c.key == key)
            .values(status=201, body=body)
        )


# The table name comes from the service's own metadata, never from a request.
class _DriverStore:
    """The three statements of `run_once` on a driver transaction (asyncpg)."""

    def __init__(self, transaction: DriverTransaction, table: Table) -> None:
        self._transaction = transaction
        self._table = table.fullname

    async def claim(self, owner: str, key: str, request_fingerprint: bytes) -> bool:
        # The key row and the creation commit together: the transaction begins here.
        connection = await self._transaction.begin()
        inserted = await connection.fetchval(
            f"INSERT INTO {self._table} (owner, key, fingerprint, created_at) "  # noqa: S608
            "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
            owner,
            key,
            request_fingerprint,
            datetime.now(UTC),
        )
        return bool(inserted)

    async def recall(self, owner: str, key: str) -> tuple[bytes, Any]:
        connection = await self._transaction.begin()
        row = await connection.fetchrow(
            f"SELECT fingerprint, body::text AS body FROM {self._table} "  # noqa: S608
            "WHERE owner = $1 AND key = $2",
            owner,
            key,
        )
        return bytes(row["fingerprint"]), orjson.loads(row["body"])

    async def remember(self, owner: str, key: str, body: Any) -> None:
        connection = await self._transaction.begin()
        await connection.execute(
            f"UPDATE {self._table} SET status = 201, body = $3::text::jsonb "  # noqa: S608
            "WHERE owner = $1 AND key = $2",
            owner,
            key,
            orjson.dumps(body).decode(),
        )
