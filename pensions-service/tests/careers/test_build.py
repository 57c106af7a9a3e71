"""Building the counted career from recorded periods and declared months. Pure."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from marfiq_pensions.careers.build import DeclaredMonth, career, periods
from marfiq_pensions.regimes import CareerPeriod, RegimeCode


def test_declared_months_replace_the_recorded_ones_and_equal_months_merge() -> None:
    counted = career(
        RegimeCode.CIVIL,
        [(date(2020, 1, 1), date(2020, 12, 31), Decimal(5000), None)],
        [
            (date(2020, 6, 1), Decimal(5200), 30),
            (date(2020, 7, 1), Decimal(5200), 30),
            (date(2021, 1, 1), Decimal(5300), 30),
        ],
        max_days=30,
    )
    assert counted.periods == (
        CareerPeriod(date(2020, 1, 1), date(2020, 5, 31), Decimal(5000)),
        CareerPeriod(date(2020, 6, 1), date(2020, 7, 31), Decimal(5200)),
        CareerPeriod(date(2020, 8, 1), date(2020, 12, 31), Decimal(5000)),
        CareerPeriod(date(2021, 1, 1), date(2021, 1, 31), Decimal(5300)),
    )


def test_two_employers_in_one_month_add_up_within_the_days_limit() -> None:
    counted = career(
        RegimeCode.GENERAL,
        [(date(2019, 1, 1), date(2019, 3, 31), Decimal(4000), 60)],
        [(date(2019, 4, 1), Decimal(3000), 20), (date(2019, 4, 1), Decimal(2500), 15)],
        max_days=26,
    )
    # 60 recorded days over 3 months; April: 5,500 DH and 35 days, capped at 26.
    assert counted.periods == (
        CareerPeriod(date(2019, 1, 1), date(2019, 3, 31), Decimal(4000), 60),
        CareerPeriod(date(2019, 4, 1), date(2019, 4, 30), Decimal(5500), 26),
    )


def test_the_career_page_groups_months_by_employer_and_salary() -> None:
    employer = uuid.UUID(int=7)

    def month(m: int, salary: int) -> DeclaredMonth:
        return DeclaredMonth(
            date(2025, m, 1), employer, "MEN", Decimal(salary), 30,
            Decimal(salary) * Decimal("0.14"), Decimal(salary) * Decimal("0.14"), None,
        )  # fmt: skip

    views = periods([], [month(1, 8000), month(2, 8000), month(4, 8000), month(5, 9000)])
    assert [(v.start, v.end, v.months, v.monthly_salary) for v in views] == [
        (date(2025, 1, 1), date(2025, 2, 28), 2, Decimal(8000)),
        (date(2025, 4, 1), date(2025, 4, 30), 1, Decimal(8000)),
        (date(2025, 5, 1), date(2025, 5, 31), 1, Decimal(9000)),
    ]
    assert views[0].employee_contribution == Decimal("2240.00")
