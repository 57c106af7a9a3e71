"""Every query on the statistics."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, literal_column, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints.models import Complaint
from marfiq_complaints.db import AnyRow, administrations
from marfiq_complaints.stats.models import MonthlyStats

_COUNTERS = ("received", "rejected", "redirected_out", "ratings", "rating_total")

_RECORD_ANSWER = text(
    """
    INSERT INTO complaints.stats_monthly AS s
        (administration_id, month, answered, answered_on_time, answer_days_total, answer_days)
    VALUES (:administration_id, :month, 1, CAST(:on_time AS integer), CAST(:days AS integer),
            array_append(array_fill(0, ARRAY[CAST(:days AS integer)]), 1))
    ON CONFLICT (administration_id, month) DO UPDATE SET
        answered = s.answered + 1,
        answered_on_time = s.answered_on_time + excluded.answered_on_time,
        answer_days_total = s.answer_days_total + excluded.answer_days_total,
        answer_days[excluded.answer_days_total + 1] =
            coalesce(s.answer_days[excluded.answer_days_total + 1], 0) + 1
    """
)


async def add(
    session: AsyncSession, *, administration_id: uuid.UUID, month: date, **counts: int
) -> None:
    """Add to counters of one administration and month (one upsert, row created on demand)."""
    unknown = counts.keys() - set(_COUNTERS)
    if unknown:
        raise ValueError(f"not a counter: {sorted(unknown)}")
    statement = insert(MonthlyStats).values(
        administration_id=administration_id, month=month, **counts
    )
    columns = MonthlyStats.__table__.c
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[columns.administration_id, columns.month],
            set_={name: columns[name] + statement.excluded[name] for name in counts},
        )
    )


async def add_answer(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    month: date,
    on_time: bool,
    days: int,
) -> None:
    """Count a first answer given `days` days after receipt (capped by the caller)."""
    await session.execute(
        _RECORD_ANSWER,
        {
            "administration_id": administration_id,
            "month": month,
            "on_time": int(on_time),
            "days": days,
        },
    )


async def administrations_page(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID | None,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> Sequence[AnyRow]:
    """Administrations of the directory in code order (all of them: a dissolved one still
    has its history)."""
    table = administrations
    statement = select(table.c.id, table.c.code, table.c.name_ar, table.c.name_fr)
    if administration_id is not None:
        statement = statement.where(table.c.id == administration_id)
    if after is not None:
        statement = statement.where(tuple_(table.c.code, table.c.id) > after)
    statement = statement.order_by(table.c.code, table.c.id).limit(limit)
    return (await session.execute(statement)).all()


async def monthly_rows(
    session: AsyncSession, *, administration_ids: Sequence[uuid.UUID], first: date, last: date
) -> Sequence[MonthlyStats]:
    statement = select(MonthlyStats).where(
        MonthlyStats.administration_id.in_(administration_ids),
        MonthlyStats.month.between(first, last),
    )
    return (await session.scalars(statement)).all()


async def open_overdue(
    session: AsyncSession, *, administration_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Complaints overdue now, per administration (an index-only scan of the partial
    index that holds overdue complaints only)."""
    statement = (
        select(Complaint.administration_id, func.count(literal_column("*")))
        .where(
            Complaint.overdue_since.is_not(None),
            Complaint.administration_id.in_(administration_ids),
        )
        .group_by(Complaint.administration_id)
    )
    return {row[0]: row[1] for row in (await session.execute(statement)).all()}
