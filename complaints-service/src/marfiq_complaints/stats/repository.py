"""Every query on the statistics."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import date
from typing import cast

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.db import AnyRow
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
        -- Element :days + 1 grows by one; the array stays dense (zeros, never NULL gaps) so
        -- that summing histograms needs no special case.
        answer_days = CASE
            WHEN cardinality(s.answer_days) > CAST(:days AS integer) THEN
                s.answer_days[1:CAST(:days AS integer)]
                || (s.answer_days[CAST(:days AS integer) + 1] + 1)
                || s.answer_days[CAST(:days AS integer) + 2:]
            ELSE s.answer_days
                || array_fill(0, ARRAY[CAST(:days AS integer) - cardinality(s.answer_days)])
                || 1
        END
    """
)


@functools.cache
def _adding(counters: frozenset[str]) -> Insert:
    """The upsert adding to these counters, built once per set of counters."""
    table = cast(Table, MonthlyStats.__table__)
    columns = table.c
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[columns.administration_id, columns.month],
        set_={name: columns[name] + statement.excluded[name] for name in counters},
    )


async def add(
    session: AsyncSession, *, administration_id: uuid.UUID, month: date, **counts: int
) -> None:
    """Add to counters of one administration and month (one upsert, row created on demand)."""
    unknown = counts.keys() - set(_COUNTERS)
    if unknown:
        raise ValueError(f"not a counter: {sorted(unknown)}")
    await session.execute(
        _adding(frozenset(counts)),
        {"administration_id": administration_id, "month": month, **counts},
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


# One round trip for a page: administrations in code order (all of them: a dissolved one
# still has its history), their complaints overdue now (an index-only count on the partial
# index holding overdue complaints only), the period's counters summed, and the monthly
# histograms as one JSON array of arrays (ragged arrays cannot be aggregated as arrays).
_PAGE = text(
    """
    WITH a AS MATERIALIZED (  -- the page first: figures only for the administrations shown
        SELECT id, code, name_ar, name_fr FROM complaints.administrations
        WHERE (CAST(:only AS uuid) IS NULL OR id = CAST(:only AS uuid))
          AND (code, id) > (CAST(:after_code AS varchar), CAST(:after_id AS uuid))
        ORDER BY code, id
        LIMIT :limit
    )
    SELECT a.id, a.code, a.name_ar, a.name_fr,
           (SELECT count(*) FROM complaints.complaints AS c
            WHERE c.administration_id = a.id AND c.overdue_since IS NOT NULL) AS open_overdue,
           coalesce(f.received, 0) AS received, coalesce(f.answered, 0) AS answered,
           coalesce(f.answered_on_time, 0) AS answered_on_time,
           coalesce(f.answer_days_total, 0) AS answer_days_total,
           coalesce(f.rejected, 0) AS rejected, coalesce(f.redirected_out, 0) AS redirected_out,
           coalesce(f.ratings, 0) AS ratings, coalesce(f.rating_total, 0) AS rating_total,
           f.histograms
    FROM a
    LEFT JOIN LATERAL (
        SELECT sum(m.received) AS received, sum(m.answered) AS answered,
               sum(m.answered_on_time) AS answered_on_time,
               sum(m.answer_days_total) AS answer_days_total, sum(m.rejected) AS rejected,
               sum(m.redirected_out) AS redirected_out, sum(m.ratings) AS ratings,
               sum(m.rating_total) AS rating_total,
               CAST(json_agg(m.answer_days) FILTER (WHERE m.answered > 0) AS text)
                   AS histograms
        FROM complaints.stats_monthly AS m
        WHERE m.administration_id = a.id
          AND m.month BETWEEN CAST(:first AS date) AND CAST(:last AS date)
    ) AS f ON true
    ORDER BY a.code, a.id
    """
)
# Below every code: the first page starts here.
_START = ("", uuid.UUID(int=0))


async def page(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID | None,
    after: tuple[str, uuid.UUID] | None,
    first: date,
    last: date,
    limit: int,
) -> Sequence[AnyRow]:
    """A page of administrations with their figures for the months [first, last]."""
    after_code, after_id = after or _START
    params = {
        "only": administration_id,
        "after_code": after_code,
        "after_id": after_id,
        "first": first,
        "last": last,
        "limit": limit,
    }
    return (await session.execute(_PAGE, params)).all()
