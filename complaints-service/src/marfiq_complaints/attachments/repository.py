"""Every query on attachments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.attachments.models import Attachment


async def of_complaint(session: AsyncSession, complaint_id: uuid.UUID) -> Sequence[Attachment]:
    statement = (
        select(Attachment)
        .where(Attachment.complaint_id == complaint_id)
        .order_by(Attachment.created_at, Attachment.id)
    )
    return (await session.scalars(statement)).all()


async def count(session: AsyncSession, complaint_id: uuid.UUID) -> int:
    statement = select(func.count()).where(Attachment.complaint_id == complaint_id)
    return int(await session.scalar(statement) or 0)


async def get(
    session: AsyncSession, complaint_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment | None:
    statement = select(Attachment).where(
        Attachment.id == attachment_id, Attachment.complaint_id == complaint_id
    )
    return (await session.scalars(statement)).first()


async def add(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(Attachment).values(**values))
