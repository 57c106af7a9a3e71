"""Simulation: a career projected with salary growth, liquidated, and its typed refusals."""

from datetime import date
from decimal import Decimal

import pytest

from marfiq_pensions.regimes import CATALOGUE, Career, CareerPeriod, InvalidCareer, RegimeCode
from marfiq_pensions.simulation import (
    Estimate,
    InvalidSalaryGrowth,
    RetirementBeforeMinimumAge,
    RetirementDateInPast,
    simulate,
)
from marfiq_shared.i18n import translate

TODAY = date(2026, 1, 15)
CIVIL_CAREER = Career(
    RegimeCode.CIVIL, (CareerPeriod(date(2000, 1, 1), date(2025, 12, 31), Decimal(10000)),)
)


def simulate_civil(
    *,
    career: Career = CIVIL_CAREER,
    birth_date: date = date(1966, 3, 10),
    retirement_date: date = date(2029, 7, 1),
    salary_growth: str = "0.03",
) -> Estimate:
    return simulate(
        career,
        birth_date=birth_date,
        retirement_date=retirement_date,
        salary_growth=Decimal(salary_growth),
        regime_catalogue=CATALOGUE,
        today=TODAY,
    )


def test_a_civil_career_is_projected_with_growth_and_straddles_the_reform() -> None:
    estimate = simulate_civil()
    # Born 1966: age limit 63 -> 2029-03-10 <= 2029-07-01. Projection 2026-01 .. 2029-06:
    #   2026: 10,000.00 ; 2027: x 1.03 = 10,300.00 ; 2028: 10,609.00 ;
    #   2029-01 .. 06: 10,927.27  -> 12 + 12 + 12 + 6 = 42 projected months
    # Service: before 2017: 2000-01 .. 2016-12 = 204 months = 17 y x 2.5% = 42.5%
    #          from 2017:  2017-01 .. 2029-06 = 150 months = 12.5 y x 2% = 25%
    # Reference, last 96 months (2021-07 .. 2029-06):
    #     6 x 10,927.27 =  65,563.62
    #    12 x 10,609.00 = 127,308.00
    #    12 x 10,300.00 = 123,600.00
    #    12 x 10,000.00 = 120,000.00   (2026, projected)
    #    54 x 10,000.00 = 540,000.00   (2021-07 .. 2025-12, declared)
    #   976,471.62 / 96 = 10,171.579... -> 10,171.58
    # Pension: 42.5% x 10,171.58 = 4,322.9215 -> 4,322.92
    #          25%   x 10,171.58 = 2,542.895  -> 2,542.90 ; total 6,865.82
    assert estimate.projected_months == 42
    assert estimate.final_salary == Decimal("10927.27")
    before, after = estimate.breakdown.tranches
    assert (before.months, before.rate, after.months, after.rate) == (
        204,
        Decimal("0.425"),
        150,
        Decimal("0.25"),
    )
    assert before.reference_salary == Decimal("10171.58")
    assert (before.amount, after.amount) == (Decimal("4322.92"), Decimal("2542.90"))
    assert estimate.monthly_pension == Decimal("6865.82")


def test_a_private_sector_career_is_projected_full_time_under_the_ceiling() -> None:
    career = Career(
        RegimeCode.GENERAL,
        (CareerPeriod(date(2012, 1, 1), date(2025, 12, 31), Decimal(5500)),),
    )
    estimate = simulate(
        career,
        birth_date=date(1967, 2, 1),
        retirement_date=date(2027, 3, 1),
        salary_growth=Decimal("0.10"),
        regime_catalogue=CATALOGUE,
        today=TODAY,
    )
    # Declared: 168 months full time x 26 = 4,368 days ; projected 2026-01 .. 2027-02 = 14
    # months x 26 = 364 days -> 4,732 days ; 4,732 - 3,240 = 1,492 = 6 x 216 + 196 -> 56%
    # Salaries: 2026 at 5,500.00 ; 2027 at 6,050.00, capped at 6,000 in the reference:
    #   2 x 6,000 + 94 x 5,500 = 529,000 / 96 = 5,510.4166... -> 5,510.42
    # Pension: 50% x 5,510.42 = 2,755.21 ; 6% x 5,510.42 = 330.6252 -> 330.63 ; 3,085.84
    assert estimate.breakdown.days_counted == 4732
    assert estimate.final_salary == Decimal("6050.00")
    assert estimate.breakdown.tranches[0].reference_salary == Decimal("5510.42")
    assert estimate.monthly_pension == Decimal("3085.84")


def test_growth_raises_the_estimate() -> None:
    def at(growth: str) -> Decimal:
        return simulate_civil(salary_growth=growth).monthly_pension

    # Without growth the reference stays 10,000.00: 42.5% + 25% = 67.5% -> 6,750.00
    assert at("0") == Decimal("6750.00")
    assert at("0.03") > at("0")


def test_a_retirement_date_in_the_past_is_refused() -> None:
    with pytest.raises(RetirementDateInPast):
        simulate_civil(birth_date=date(1960, 1, 1), retirement_date=date(2026, 1, 1))


def test_a_retirement_before_the_age_limit_is_refused_with_the_earliest_date() -> None:
    with pytest.raises(RetirementBeforeMinimumAge) as refused:
        simulate_civil(birth_date=date(1970, 5, 20), retirement_date=date(2033, 5, 1))
    # born 1970: 63 years -> 2033-05-20
    assert refused.value.earliest == date(2033, 5, 20)
    assert refused.value.status == 422
    assert refused.value.extensions == {"earliest_retirement_date": "2033-05-20"}


def test_a_29_february_birthday_reaches_the_age_on_28_february() -> None:
    with pytest.raises(RetirementBeforeMinimumAge) as refused:
        simulate_civil(birth_date=date(1964, 2, 29), retirement_date=date(2027, 2, 1))
    assert refused.value.earliest == date(2027, 2, 28)


@pytest.mark.parametrize("growth", ["-0.11", "0.21", "1"])
def test_an_implausible_growth_is_refused(growth: str) -> None:
    with pytest.raises(InvalidSalaryGrowth):
        simulate_civil(salary_growth=growth)


def test_an_empty_career_is_refused() -> None:
    with pytest.raises(InvalidCareer):
        simulate_civil(career=Career(RegimeCode.CIVIL, ()))


def test_the_refusals_have_titles_in_three_languages() -> None:
    for code in ("retirement-date-in-past", "retirement-before-minimum-age"):
        titles = {translate(code, language) for language in ("ar", "fr", "en")}
        assert len(titles) == 3
        assert code not in titles
