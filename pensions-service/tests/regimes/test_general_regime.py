"""Private sector's general regime (CNSS): hand-computed old-age pensions and refunds."""

from datetime import date
from decimal import Decimal

import pytest

from marfiq_pensions.regimes import (
    Career,
    CareerPeriod,
    InvalidCareer,
    RegimeCode,
    RegimeNotInForce,
    general_pension,
)
from marfiq_pensions.regimes.general import GENERAL


def general(*periods: tuple[date, date, str, int]) -> Career:
    return Career(
        RegimeCode.GENERAL,
        tuple(
            CareerPeriod(start, end, Decimal(salary), days) for start, end, salary, days in periods
        ),
    )


def test_3240_days_earn_half_the_average_of_the_last_96_months() -> None:
    career = general(
        (date(2014, 7, 1), date(2014, 12, 31), "4000", 120),
        (date(2015, 1, 1), date(2016, 12, 31), "4000", 624),
        (date(2017, 1, 1), date(2024, 12, 31), "5000", 2496),
    )
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # days: 120 + 624 + 2,496 = 3,240 -> rate 50%, no additional 216-day step
    # reference: the last 96 declared months are 2017-01 .. 2024-12 at 5,000 -> 5,000.00
    # pension: 50% x 5,000 = 2,500.00 (above the 1,000 minimum)
    assert result.rules == "general-2023"
    assert result.days_counted == 3240
    [tranche] = result.tranches
    assert (tranche.key, tranche.rate, tranche.reference_salary) == (
        "first-3240-days",
        Decimal("0.50"),
        Decimal("5000.00"),
    )
    assert result.amount == Decimal("2500.00")


def test_each_further_216_days_add_one_point_on_a_salary_capped_at_6000() -> None:
    career = general(
        (date(2005, 1, 1), date(2016, 12, 31), "4500", 2504),
        (date(2017, 1, 1), date(2024, 12, 31), "8000", 2496),
    )
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # days: 2,504 + 2,496 = 5,000 ; beyond 3,240: 1,760 = 8 x 216 + 32 -> 8 steps -> 58%
    # reference: 96 months at 8,000, each capped at the 6,000 ceiling -> 6,000.00
    # pension: 50% x 6,000 = 3,000.00 + 8% x 6,000 = 480.00 -> 3,480.00
    first, extra = result.tranches
    assert (extra.key, extra.days, extra.rate) == ("additional-days", 1728, Decimal("0.08"))
    assert first.reference_salary == Decimal("6000.00")
    assert result.amount == Decimal("3480.00")


def test_the_rate_stops_at_70_percent() -> None:
    career = general((date(1995, 1, 1), date(2024, 12, 31), "5000", 9000))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # 9,000 - 3,240 = 5,760 = 26 x 216 -> 50% + 26% = 76% > 70%: capped at 70%
    # before the cap: 2,500.00 + 1,300.00 = 3,800.00 ; after: 2,500.00 + 1,000.00 = 3,500.00
    # (months before the 2002 ceiling are outside the 96-month reference: no rate is needed)
    assert result.amount_before_cap_and_floor == Decimal("3800.00")
    assert result.rate == Decimal("0.70")
    assert result.amount == Decimal("3500.00")


def test_a_small_pension_is_raised_to_1000_dirhams() -> None:
    career = general((date(2011, 1, 1), date(2024, 12, 31), "1800", 3500))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # 3,500 - 3,240 = 260 = 1 x 216 + 44 -> 51% x 1,800 = 918.00 < 1,000 -> 1,000
    assert result.amount_after_cap == Decimal("918.00")
    assert result.amount == Decimal("1000")


def test_before_2023_a_career_under_3240_days_only_gets_its_own_share_back() -> None:
    career = general((date(2010, 1, 1), date(2019, 12, 31), "3000", 3000))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2020, 1, 1))
    # 3,000 days < 3,240 under general-2011: no pension; the employee's share is refunded:
    #   3,000 x 3.96% = 118.80 a month x 120 months = 14,256.00 ; employer's share: none
    assert result.rules == "general-2011"
    assert not result.entitled
    assert result.amount == 0
    assert result.refund is not None
    assert (result.refund.employee, result.refund.employer) == (Decimal("14256.00"), 0)


def test_one_day_short_of_3240_opened_no_pension_before_2023() -> None:
    career = general((date(2009, 1, 1), date(2019, 12, 31), "3000", 3239))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2020, 1, 1))
    assert not result.entitled


def test_since_2023_a_short_career_earns_a_proportional_pension() -> None:
    career = general((date(2017, 1, 1), date(2024, 12, 31), "4000", 2000))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # 1,320 <= 2,000 < 3,240 (general-2023): rate 50% x 2,000 / 3,240 = 30.8641975...%
    #   reference 4,000.00 -> 0.308641975... x 4,000 = 1,234.5679 -> 1,234.57
    #   band 1,705-2,088 days: minimum 700, below the amount
    assert result.entitled
    assert result.minimum_pension == Decimal("700")
    assert result.amount == Decimal("1234.57")


def test_since_2023_a_short_career_is_raised_to_its_band_minimum() -> None:
    career = general((date(2019, 1, 1), date(2024, 12, 31), "2000", 1400))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # 50% x 1,400 / 3,240 = 21.6049...% ; only 72 declared months: reference = 2,000.00
    #   0.216049... x 2,000 = 432.0988 -> 432.10 < 600 (band 1,320-1,704) -> 600
    [tranche] = result.tranches
    assert tranche.reference_months == 72
    assert result.amount_after_cap == Decimal("432.10")
    assert result.amount == Decimal("600")


def test_since_2023_under_1320_days_both_shares_are_refunded() -> None:
    career = general((date(2021, 1, 1), date(2024, 12, 31), "3000", 1000))
    result = general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))
    # employee 3,000 x 3.96% = 118.80 x 48 = 5,702.40
    # employer 3,000 x 7.93% = 237.90 x 48 = 11,419.20 ; total 17,121.60
    assert result.refund is not None
    assert result.refund.employee == Decimal("5702.40")
    assert result.refund.employer == Decimal("11419.20")
    assert result.refund.total == Decimal("17121.60")


def test_more_than_26_days_a_month_are_refused() -> None:
    career = general((date(2024, 1, 1), date(2024, 12, 31), "3000", 313))
    with pytest.raises(InvalidCareer, match="26"):
        general_pension(career, regime=GENERAL, retirement_date=date(2025, 1, 1))


def test_a_refund_needs_the_rates_of_every_month() -> None:
    career = general((date(2000, 1, 1), date(2004, 12, 31), "3000", 1000))
    with pytest.raises(RegimeNotInForce):
        general_pension(career, regime=GENERAL, retirement_date=date(2020, 1, 1))
