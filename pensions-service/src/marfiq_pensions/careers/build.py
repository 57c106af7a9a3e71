"""A career from its pieces: the fund's recorded periods and the months employers declared.

Pure functions. Declared months take precedence over recorded periods for the same month;
two employers in one month add up (salaries, and days up to the month's limit).
"""

from __future__ import annotations

import uuid
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


def career(
    regime: RegimeCode,
    recorded: Iterable[RecordedPeriod],
    declared: Iterable[DeclaredMonth],
    *,
    max_days: int,
) -> Career:
    """The career the regimes count: months with a salary (and days under the general
    regime), consecutive equal months merged into periods."""
    counts_days = regime is RegimeCode.GENERAL
    months: dict[int, tuple[Decimal, int]] = {}
    for period in recorded:
        first, last = month_index(period.start), month_index(period.end)
        count = last - first + 1
        total = max_days * count if period.days is None else min(period.days, max_days * count)
        for offset, index in enumerate(range(first, last + 1)):
            # Days of the period spread over its months, the remainder on the first ones.
            days = total // count + (1 if offset < total % count else 0)
            months[index] = (period.salary, days)
    declared_months: dict[int, tuple[Decimal, int]] = {}
    for month in declared:
        index = month_index(month.period)
        salary, days = declared_months.get(index, (ZERO, 0))
        declared_months[index] = (salary + month.salary, min(days + month.days, max_days))
    months |= declared_months
    result: list[CareerPeriod] = []
    run_first = run_last = -2
    run_value: tuple[Decimal, int] = (ZERO, 0)
    for index in sorted(months):
        value = months[index] if counts_days else (months[index][0], 0)
        if index == run_last + 1 and value == run_value:
            run_last = index
            continue
        if run_first >= 0:
            result.append(_career_period(run_first, run_last, run_value, counts_days))
        run_first = run_last = index
        run_value = value
    if run_first >= 0:
        result.append(_career_period(run_first, run_last, run_value, counts_days))
    return Career(regime, tuple(result))


def _career_period(
    first: int, last: int, value: tuple[Decimal, int], counts_days: bool
) -> CareerPeriod:
    salary, days = value
    return CareerPeriod(
        month_start(first),
        _month_end(last),
        salary,
        days * (last - first + 1) if counts_days else None,
    )
