"""Public statistics: counted as complaints move, read per administration and period."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from itertools import zip_longest

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.db import AnyRow
from marfiq_complaints.deadlines import local_day
from marfiq_complaints.stats import repository
from marfiq_complaints.stats.models import HISTOGRAM_DAYS
from marfiq_complaints.stats.schemas import AdministrationStats, StatsPage
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor
from marfiq_shared.problems import ValidationFailed

MAX_MONTHS = 120


def cohort_month(received_at: datetime) -> date:
    """The month (Casablanca) a complaint counts in: when its holder received it."""
    return local_day(received_at).replace(day=1)


async def count_received(
    session: AsyncSession, *, administration_id: uuid.UUID, received_at: datetime
) -> None:
    """One more request received by an administration (filed with it, or redirected to it)."""
    await repository.add(
        session, administration_id=administration_id, month=cohort_month(received_at), received=1
    )


async def count_first_answer(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    received_at: datetime,
    answered_at: datetime,
    on_time: bool,
) -> None:
    """A first answer: counted, on time or not, with its delay in days for the median."""
    days = (local_day(answered_at) - local_day(received_at)).days
    await repository.add_answer(
        session,
        administration_id=administration_id,
        month=cohort_month(received_at),
        on_time=on_time,
        days=max(0, min(days, HISTOGRAM_DAYS)),
    )


async def count(
    session: AsyncSession, *, administration_id: uuid.UUID, received_at: datetime, **counts: int
) -> None:
    """Add to named counters (rejected, redirected_out, ratings, rating_total)."""
    await repository.add(
        session, administration_id=administration_id, month=cohort_month(received_at), **counts
    )


def parse_month(text: str, *, field: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise ValidationFailed(
            errors=[{"field": field, "in": "query", "message": "a month as YYYY-MM"}]
        ) from exc


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def default_period(now: datetime) -> tuple[date, date]:
    """The twelve months ending with the current one."""
    last = local_day(now).replace(day=1)
    first_index = last.year * 12 + last.month - 1 - 11
    return date(first_index // 12, first_index % 12 + 1, 1), last


def median_from_histogram(histogram: Sequence[int]) -> float | None:
    """The median of values given as counts per value (index = value)."""
    total = sum(histogram)
    if total == 0:
        return None
    lower_rank, upper_rank = (total - 1) // 2, total // 2
    seen, lower = 0, None
    for value, count in enumerate(histogram):
        seen += count
        if lower is None and seen > lower_rank:
            lower = value
        if seen > upper_rank:
            assert lower is not None
            return (lower + value) / 2
    raise AssertionError("unreachable: ranks are below the total")


def sum_histograms(histograms: Sequence[Sequence[int]]) -> list[int]:
    """Element-wise sum of histograms of any lengths."""
    # Column by column in C (zip_longest, sum): a page is hundreds of arrays.
    return [sum(column) for column in zip_longest(*histograms, fillvalue=0)]


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _stats(row: AnyRow) -> AdministrationStats:
    answered, ratings = row.answered, row.ratings
    median = None
    if row.histograms is not None:
        median = median_from_histogram(sum_histograms(orjson.loads(row.histograms)))
    return AdministrationStats(
        administration_id=row.id,
        code=row.code,
        name_ar=row.name_ar,
        name_fr=row.name_fr,
        received=row.received,
        answered=answered,
        answered_pct=_pct(answered, row.received),
        answered_on_time=row.answered_on_time,
        answered_on_time_pct=_pct(row.answered_on_time, answered),
        median_days_to_answer=median,
        mean_days_to_answer=round(row.answer_days_total / answered, 1) if answered else None,
        rejected=row.rejected,
        redirected_out=row.redirected_out,
        open_overdue=row.open_overdue,
        ratings=ratings,
        average_rating=round(row.rating_total / ratings, 2) if ratings else None,
    )


def _position(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return str(position["c"]), uuid.UUID(str(position["i"]))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor() from exc


async def read_stats(
    session: AsyncSession,
    *,
    from_month: str | None,
    to_month: str | None,
    administration_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> StatsPage:
    """A page of administrations (code order) with their figures for the period."""
    first, last = default_period(now)
    if from_month is not None:
        first = parse_month(from_month, field="from")
    if to_month is not None:
        last = parse_month(to_month, field="to")
    span = _months_between(first, last)
    if span < 1 or span > MAX_MONTHS:
        raise ValidationFailed(
            errors=[
                {
                    "field": "from",
                    "in": "query",
                    "message": f"from must not be after to; at most {MAX_MONTHS} months",
                }
            ]
        )
    found = await repository.page(
        session,
        administration_id=administration_id,
        after=_position(cursor),
        first=first,
        last=last,
        limit=limit + 1,
    )
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        next_cursor = encode_cursor({"c": page[-1].code, "i": str(page[-1].id)})
    return StatsPage(
        items=[_stats(row) for row in page],
        next_cursor=next_cursor,
        from_month=f"{first:%Y-%m}",
        to_month=f"{last:%Y-%m}",
        generated_at=now,
    )
