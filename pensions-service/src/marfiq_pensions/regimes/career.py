"""A career as the regimes count it: whole months of service, each with a salary and days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from marfiq_pensions.regimes.errors import InvalidCareer
from marfiq_pensions.regimes.model import RegimeCode


@dataclass(frozen=True, slots=True)
class CareerPeriod:
    """Whole months of service at one monthly gross salary.

    `days` are the contribution days declared over the period (general regime: at most 26 a
    month); None means full time.
    """

    start: date  # first day of a month
    end: date  # last day of a month, inclusive
    monthly_salary: Decimal
    days: int | None = None


@dataclass(frozen=True, slots=True)
class Career:
    regime: RegimeCode
    periods: tuple[CareerPeriod, ...]


class Span(NamedTuple):
    """A validated period as month indexes (year * 12 + month - 1), both ends included."""

    first: int
    last: int
    salary: Decimal
    days: int

    @property
    def months(self) -> int:
        return self.last - self.first + 1


def month_index(day: date) -> int:
    """The month a day falls in, as a number that grows by one each month."""
    return day.year * 12 + day.month - 1


def month_start(index: int) -> date:
    """The first day of a month given by its index."""
    return date(index // 12, index % 12 + 1, 1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter."""
    index = month_index(day) + months
    last_day = (month_start(index + 1) - timedelta(days=1)).day
    return month_start(index).replace(day=min(day.day, last_day))


def service_spans(
    career: Career, *, retirement_date: date, max_days_per_month: int | None
) -> list[Span]:
    """The career's periods, checked and ordered, cut at the end of the month before retirement.

    `max_days_per_month` is None for a regime that counts months, not days.
    """
    stop = month_index(retirement_date)  # the month of retirement is not service
    spans: list[Span] = []
    previous_last = -1
    for position, period in enumerate(sorted(career.periods, key=lambda p: p.start)):
        if period.start.day != 1 or (period.end + timedelta(days=1)).day != 1:
            raise InvalidCareer(
                f"period {position + 1} must run from a month's first day to a month's last day"
            )
        if period.end < period.start:
            raise InvalidCareer(f"period {position + 1} ends before it starts")
        if period.monthly_salary < 0:
            raise InvalidCareer(f"period {position + 1} has a negative salary")
        first, last = month_index(period.start), month_index(period.end)
        months = last - first + 1
        if first <= previous_last:
            raise InvalidCareer(f"period {position + 1} overlaps the period before it")
        previous_last = last
        days = 0
        if max_days_per_month is not None:
            days = max_days_per_month * months if period.days is None else period.days
            if not 0 <= days <= max_days_per_month * months:
                raise InvalidCareer(
                    f"period {position + 1} declares {days} days; at most "
                    f"{max_days_per_month} a month count"
                )
        if first >= stop:
            continue
        if last >= stop:  # keep the months before retirement, and their share of the days
            kept = stop - first
            days = days * kept // months
            last = stop - 1
        spans.append(Span(first, last, period.monthly_salary, days))
    return spans
