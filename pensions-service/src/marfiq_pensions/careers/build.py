"""A career from its pieces: the fund's recorded periods and the months employers declared.

Pure functions. Declared months take precedence over recorded periods for the same month;
two employers in one month add up (salaries, and days up to the month's limit).
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from marfiq_pensions.regimes import Career, CareerPeriod, RegimeCode
from marfiq_pensions.regimes.career import month_index, month_start

ZERO = Decimal(0)
# Days a month counts: the general regime's 26 working days; public payroll counts 30.
DAYS_PER_MONTH = {RegimeCode.GENERAL: 26, RegimeCode.CIVIL: 30}


@dataclass(frozen=True, slots=True)
class DeclaredMonth:
    """One contribution line in force."""

    period: date
    employer_id: uuid.UUID | None
    employer_name: str | None
    salary: Decimal
    days: int
    employee: Decimal
    employer: Decimal
    grade: str | None


@dataclass(frozen=True, slots=True)
class RecordedPeriod:
    """A period of the fund's records (before online declarations)."""

    start: date
    end: date
    employer_id: uuid.UUID | None
    employer_name: str | None
    grade: str | None
    salary: Decimal
    days: int | None  # over the whole period; None: full time


@dataclass(frozen=True, slots=True)
class PeriodView:
    """A run of months at one employer, grade and salary, as the career page shows it."""

    start: date
    end: date
    months: int
    employer_id: uuid.UUID | None
    employer_name: str | None
    grade: str | None
    monthly_salary: Decimal
    days: int | None
    employee_contribution: Decimal | None  # None for recorded periods
    employer_contribution: Decimal | None
    source: str  # "declarations" or "records"


def _month_end(index: int) -> date:
    return month_start(index + 1) - timedelta(days=1)


def periods(
    recorded: Sequence[RecordedPeriod], declared: Sequence[DeclaredMonth]
) -> list[PeriodView]:
    """The career as runs of months, oldest first."""
    views = [
        PeriodView(
            start=period.start,
            end=period.end,
            months=month_index(period.end) - month_index(period.start) + 1,
            employer_id=period.employer_id,
            employer_name=period.employer_name,
            grade=period.grade,
            monthly_salary=period.salary,
            days=period.days,
            employee_contribution=None,
            employer_contribution=None,
            source="records",
        )
        for period in recorded
    ]
    ordered = sorted(declared, key=lambda m: (str(m.employer_id), m.period))
    run: list[DeclaredMonth] = []
    for month in ordered:
        if run and not _continues(run[-1], month):
            views.append(_declared_view(run))
            run = []
        run.append(month)
    if run:
        views.append(_declared_view(run))
    return sorted(views, key=lambda view: (view.start, str(view.employer_id)))


def _continues(last: DeclaredMonth, month: DeclaredMonth) -> bool:
    return month_index(month.period) == month_index(last.period) + 1 and (
        month.employer_id,
        month.salary,
        month.grade,
    ) == (last.employer_id, last.salary, last.grade)


def _declared_view(run: Sequence[DeclaredMonth]) -> PeriodView:
    first, last = run[0], run[-1]
    return PeriodView(
        start=first.period,
        end=_month_end(month_index(last.period)),
        months=len(run),
        employer_id=first.employer_id,
        employer_name=first.employer_name,
        grade=first.grade,
        monthly_salary=first.salary,
        days=sum(month.days for month in run),
        employee_contribution=sum((month.employee for month in run), ZERO),
        employer_contribution=sum((month.employer for month in run), ZERO),
        source="declarations",
    )


# (start, end, monthly salary, days over the period or None for full time)
Recorded = tuple[date, date, Decimal, int | None]
# (month, salary, days)
Declared = tuple[date, Decimal, int]


def career(
    regime: RegimeCode,
    recorded: Iterable[Recorded],
    declared: Iterable[Declared],
    *,
    max_days: int,
) -> Career:
    """The career the regimes count: months with a salary (and days under the general
    regime). Declared months replace recorded ones; equal consecutive declared months are
    merged into one period."""
    counts_days = regime is RegimeCode.GENERAL
    months: dict[int, tuple[Decimal, int]] = {}
    for period, salary, days in declared:
        index = month_index(period)
        known = months.get(index)
        if known is not None:  # two employers in one month: salaries and days add up
            salary, days = known[0] + salary, known[1] + days
        months[index] = (salary, min(days, max_days))
    taken = sorted(months)
    pieces: list[tuple[int, int, Decimal, int | None]] = []
    for start, end, salary, total in recorded:
        first, last = month_index(start), month_index(end)
        count = last - first + 1
        cut = bisect_left(taken, first)
        while first <= last:
            # The months of the period up to the next declared one.
            stop = taken[cut] - 1 if cut < len(taken) and taken[cut] <= last else last
            if stop >= first:
                length = stop - first + 1
                share = None
                if counts_days:
                    share = max_days * length if total is None else total * length // count
                pieces.append((first, stop, salary, share))
            first, cut = stop + 2, cut + 1
    run: list[int] = []
    for index in taken:
        if run and (index != run[-1] + 1 or months[index] != months[run[-1]]):
            pieces.append(_run(run, months, counts_days))
            run = []
        run.append(index)
    if run:
        pieces.append(_run(run, months, counts_days))
    pieces.sort()
    return Career(
        regime,
        tuple(
            CareerPeriod(month_start(first), _month_end(last), salary, days)
            for first, last, salary, days in pieces
        ),
    )


def _run(
    run: list[int], months: dict[int, tuple[Decimal, int]], counts_days: bool
) -> tuple[int, int, Decimal, int | None]:
    salary, days = months[run[0]]
    return run[0], run[-1], salary, days * len(run) if counts_days else None
