"""Pension contributions: dated rates, and the CNSS wage ceiling."""

from datetime import date
from decimal import Decimal

import pytest

from marfiq_pensions.regimes import (
    CATALOGUE,
    Contribution,
    InvalidSalary,
    RegimeNotInForce,
    contribution,
)

CIVIL, GENERAL = CATALOGUE.civil, CATALOGUE.general


@pytest.mark.parametrize(
    ("period", "share"),
    [
        (date(2016, 8, 1), "1000.00"),  # 10% before the reform
        (date(2016, 9, 1), "1100.00"),  # 11% from September 2016
        (date(2017, 3, 1), "1200.00"),  # 12% in 2017
        (date(2018, 1, 1), "1300.00"),  # 13% in 2018
        (date(2019, 1, 1), "1400.00"),  # 14% from 2019
        (date(2025, 6, 1), "1400.00"),
    ],
)
def test_civil_rates_rose_from_10_to_14_percent_each(period: date, share: str) -> None:
    # 10,000 x rate, the same for the affiliate and the State
    assert contribution(CIVIL, Decimal(10000), period) == (Decimal(share), Decimal(share))


def test_the_civil_regime_has_no_ceiling() -> None:
    # 50,000 x 14% = 7,000.00 each
    assert contribution(CIVIL, Decimal(50000), date(2025, 1, 1)) == Contribution(
        Decimal("7000.00"), Decimal("7000.00")
    )


def test_cnss_below_the_ceiling_takes_the_whole_salary() -> None:
    # 4,500 x 3.96% = 178.20 ; 4,500 x 7.93% = 356.85
    assert contribution(GENERAL, Decimal(4500), date(2025, 1, 1)) == (
        Decimal("178.20"),
        Decimal("356.85"),
    )


@pytest.mark.parametrize("gross", ["6000", "6000.01", "15000"])
def test_cnss_at_and_above_the_ceiling_takes_6000(gross: str) -> None:
    # 6,000 x 3.96% = 237.60 ; 6,000 x 7.93% = 475.80
    result = contribution(GENERAL, Decimal(gross), date(2025, 1, 1))
    assert (result.employee, result.employer) == (Decimal("237.60"), Decimal("475.80"))


def test_contributions_are_rounded_half_up_to_the_centime() -> None:
    # 3,333.33 x 3.96% = 131.999868 -> 132.00 ; x 7.93% = 264.333069 -> 264.33
    assert contribution(GENERAL, Decimal("3333.33"), date(2025, 1, 1)) == (
        Decimal("132.00"),
        Decimal("264.33"),
    )


def test_a_negative_salary_is_refused() -> None:
    with pytest.raises(InvalidSalary):
        contribution(GENERAL, Decimal(-1), date(2025, 1, 1))


def test_months_before_the_known_rates_are_refused() -> None:
    with pytest.raises(RegimeNotInForce):
        contribution(GENERAL, Decimal(3000), date(2002, 3, 1))
