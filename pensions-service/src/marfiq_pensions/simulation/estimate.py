"""Estimate a future pension: project the current salary to retirement, then liquidate.

The affiliate is assumed to keep working full time from the month after their last career
period to the month before retirement, at their last salary raised by `salary_growth` on each
anniversary of the projection (rounded to the centime each year).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from marfiq_pensions.regimes.career import (
    Career,
    CareerPeriod,
    add_months,
    month_index,
    month_start,
)
from marfiq_pensions.regimes.catalogue import RegimeCatalogue
from marfiq_pensions.regimes.errors import InvalidCareer
from marfiq_pensions.regimes.model import PensionBreakdown, money, pension_age_months
from marfiq_pensions.regimes.pension import pension
from marfiq_pensions.simulation.errors import (
    InvalidSalaryGrowth,
    RetirementBeforeMinimumAge,
    RetirementDateInPast,
)

# A yearly growth outside this range says more about a typo than about a career.
MIN_GROWTH = Decimal("-0.10")
MAX_GROWTH = Decimal("0.20")


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimated monthly pension, the projection behind it and its breakdown."""

    retirement_date: date
    monthly_pension: Decimal
    salary_growth: Decimal
    current_salary: Decimal  # monthly salary of the last career period
    final_salary: Decimal  # projected monthly salary of the last month of service
    projected_months: int  # months added by the projection
    breakdown: PensionBreakdown


def simulate(
    career: Career,
    *,
    birth_date: date,
    retirement_date: date,
    salary_growth: Decimal,
    regime_catalogue: RegimeCatalogue,
    today: date | None = None,
) -> Estimate:
    """Project the career to `retirement_date` at `salary_growth` a year and liquidate it."""
    today = today or date.today()
    if retirement_date < today:
        raise RetirementDateInPast(f"{retirement_date.isoformat()} is before {today.isoformat()}")
    if not MIN_GROWTH <= salary_growth <= MAX_GROWTH:
        raise InvalidSalaryGrowth(
            f"salary growth must lie between {MIN_GROWTH:%} and {MAX_GROWTH:%} a year",
            minimum=str(MIN_GROWTH),
            maximum=str(MAX_GROWTH),
        )
    if not career.periods:
        raise InvalidCareer("the career has no period")
    rules = regime_catalogue.regime(career.regime).rules_on(retirement_date)
    earliest = add_months(birth_date, pension_age_months(rules, birth_date))
    if retirement_date < earliest:
        raise RetirementBeforeMinimumAge(earliest)
    last = max(career.periods, key=lambda period: period.end)
    projection = _projection(last, retirement_date, salary_growth)
    projected = Career(career.regime, career.periods + projection)
    breakdown = pension(projected, catalogue=regime_catalogue, retirement_date=retirement_date)
    return Estimate(
        retirement_date=retirement_date,
        monthly_pension=breakdown.amount,
        salary_growth=salary_growth,
        current_salary=last.monthly_salary,
        final_salary=projection[-1].monthly_salary if projection else last.monthly_salary,
        projected_months=sum(
            month_index(period.end) - month_index(period.start) + 1 for period in projection
        ),
        breakdown=breakdown,
    )


def _projection(
    last: CareerPeriod, retirement_date: date, growth: Decimal
) -> tuple[CareerPeriod, ...]:
    """Full-time years from the month after `last` to the month before retirement."""
    first, stop = month_index(last.end) + 1, month_index(retirement_date)
    salary, factor = last.monthly_salary, 1 + growth
    periods = []
    while first < stop:
        end = min(first + 12, stop)
        periods.append(
            CareerPeriod(month_start(first), month_start(end) - timedelta(days=1), salary)
        )
        salary = money(salary * factor)
        first = end
    return tuple(periods)
