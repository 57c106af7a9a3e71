"""Every query on the administrations table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.administrations.models import Administration


async def insert_unless_code_taken(
    session: AsyncSession, values: dict[str, Any]
) -> Administration | None:
    """Insert; None when the code (or id) exists. One statement, safe under concurrency."""
    result = await session.scalars(
        insert(Administration).values(**values).on_conflict_do_nothing().returning(Administration)
    )
    return result.first()


async def get(
    session: AsyncSession, administration_id: uuid.UUID, *, for_update: bool = False
) -> Administration | None:
    return await session.get(
        Administration, administration_id, with_for_update=True if for_update else None
    )


async def id_by_code(session: AsyncSession, code: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await session.scalar(
        select(Administration.id).where(Administration.code == code)
    )
    return found


async def exists(session: AsyncSession, administration_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Administration.id).where(Administration.id == administration_id)
    )
    return found is not None


async def ancestor_ids(session: AsyncSession, administration_id: uuid.UUID) -> set[uuid.UUID]:
    """The administration and everything above it (the hierarchy is a few levels deep)."""
    top = (
        select(Administration.id, Administration.parent_id)
        .where(Administration.id == administration_id)
        .cte("ancestors", recursive=True)
    )
    up = top.union(
        select(Administration.id, Administration.parent_id).join(
            top, Administration.id == top.c.parent_id
        )
    )
    return set((await session.scalars(select(up.c.id))).all())


async def page(
    session: AsyncSession,
    *,
    tsquery: str | None,
    kind: str | None,
    parent_id: uuid.UUID | None,
    include_inactive: bool,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[Administration]:
    """One page in (sort_name, id) order; a search is served by the GIN index."""
    statement = select(Administration)
    if tsquery is not None:
        statement = statement.where(
            Administration.search_vector.op("@@")(func.to_tsquery("simple", tsquery))
        )
    if kind is not None:
        statement = statement.where(Administration.kind == kind)
    if parent_id is not None:
        statement = statement.where(Administration.parent_id == parent_id)
    if not include_inactive:
        statement = statement.where(Administration.active.is_(True))
    if after is not None:
        statement = statement.where(tuple_(Administration.sort_name, Administration.id) > after)
    statement = statement.order_by(Administration.sort_name, Administration.id).limit(limit)
    return (await session.scalars(statement)).all()
