"""Every query on queued notifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.notifications.models import Delivery


async def add_unless_present(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Queue deliveries; one already queued for the same event and channel is skipped."""
    if not rows:
        return 0
    result = await session.execute(
        insert(Delivery)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=[Delivery.event_id, Delivery.channel])
        .returning(Delivery.id)
    )
    return len(result.all())


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> Sequence[Delivery]:
    """Take up to `limit` due deliveries until `lease_until` (other replicas skip them)."""
    due = (
        select(Delivery.id)
        .where(
            Delivery.sent_at.is_(None),
            Delivery.failed_at.is_(None),
            Delivery.next_attempt_at <= now,
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await session.scalars(
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=lease_until, attempts=Delivery.attempts + 1)
        .returning(Delivery)
        .execution_options(synchronize_session=False)
    )
    return result.all()


async def mark_sent(session: AsyncSession, ids: Sequence[uuid.UUID], *, now: datetime) -> None:
    if ids:
        await session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(sent_at=now))


async def reschedule(session: AsyncSession, delivery_id: uuid.UUID, *, at: datetime) -> None:
    await session.execute(
        update(Delivery).where(Delivery.id == delivery_id).values(next_attempt_at=at)
    )


async def give_up(session: AsyncSession, delivery_id: uuid.UUID, *, now: datetime) -> None:
    await session.execute(update(Delivery).where(Delivery.id == delivery_id).values(failed_at=now))


async def prune(session: AsyncSession, *, before: datetime) -> None:
    """Forget deliveries sent or given up on before `before`."""
    await session.execute(
        delete(Delivery).where(or_(Delivery.sent_at < before, Delivery.failed_at < before))
    )
