"""Every query on the document registry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.documents.models import IssuedDocument


async def add(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(IssuedDocument).values(**values))


async def add_if_absent(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(IssuedDocument).values(**values).on_conflict_do_nothing())


async def get(
    session: AsyncSession, code: str, *, for_update: bool = False
) -> IssuedDocument | None:
    statement = select(IssuedDocument).where(IssuedDocument.code == code)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()
