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
    session: AsyncSession,
    table: Table,
    *,
    owner: str,
    key: str | None,
    request_fingerprint: bytes,
    create: Callable[[], Awaitable[M]],
    model: type[M],
) -> tuple[M, bool]:
    """Run `create` once per (owner, key); return its result and whether it is a replay."""
    if key is None:
        return await create(), False
    inserted = await session.execute(
        insert(table)
        .values(
            owner=owner,
            key=key,
            fingerprint=request_fingerprint,
            created_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
        .returning(table.c.key)
    )
    if inserted.first() is None:
        row = (
            await session.execute(
                select(table.c.fingerprint, table.c.body).where(
                    table.c.owner == owner, table.c.key == key
                )
            )
        ).one()
        if row.fingerprint != request_fingerprint:
            raise IdempotencyKeyReused()
        return model.model_validate(row.body), True
    result = await create()
    await session.execute(
        table.update()
        .where(table.c.owner == owner, table.c.key == key)
        .values(status=201, body=result.model_dump(mode="json"))
    )
    return result, False
