"""Civil pensions regime (CMR): hand-computed liquidations, before and after the 2016 reform."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from marfiq_pensions.regimes import (
    CATALOGUE,
    Career,
    CareerPeriod,
    InvalidCareer,
    Regime,
    RegimeCode,
    RegimeNotInForce,
    civil_pension,
    pension_age_months,
)
from marfiq_pensions.regimes.civil import CIVIL, REFORM_2020
from marfiq_pensions.regimes.model import AnnuityTranche


def civil(*periods: tuple[date, date, str]) -> Career:
    return Career(
        RegimeCode.CIVIL,
        tuple(CareerPeriod(start, end, Decimal(salary)) for start, end, salary in periods),
    )


def test_before_the_reform_thirty_years_earn_75_percent_of_the_last_salary() -> None:
    career = civil(
        (date(1985, 1, 1), date(2009, 12, 31), "6000"),
        (date(2010, 1, 1), date(2014, 12, 31), "9000"),
    )
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2015, 1, 1))
    # Rules civil-2011 (pension starting 2015-01-01): 2.5% a year of the LAST salary.
    #   service     1985-01 .. 2014-12 = 360 months = 30 years
    #   rate        30 x 2.5%         = 75%
    #   reference   last salary       = 9,000.00 (the 6,000 years do not matter)
    #   pension     75% x 9,000       = 6,750.00
    assert result.rules == "civil-2011"
    assert result.service_months == 360
    [tranche] = result.tranches
    assert tranche.rate == Decimal("0.75")
    assert tranche.reference_salary == Decimal("9000.00")
    assert tranche.reference_months == 1
    assert result.amount == Decimal("6750.00")


def test_a_career_straddling_the_reform_keeps_2_5_percent_for_service_before_2017() -> None:
    career = civil(
        (date(2001, 1, 1), date(2016, 12, 31), "8000"),
        (date(2017, 1, 1), date(2020, 12, 31), "10000"),
        (date(2021, 1, 1), date(2025, 6, 30), "12000"),
    )
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2025, 7, 1))
    # Rules civil-2020 (pension starting 2025-07-01).
    #   before 2017-01-01:  2001-01 .. 2016-12 = 192 months = 16 years x 2.5% = 40%
    #   from   2017-01-01:  2017-01 .. 2025-06 = 102 months = 8.5 years x 2% = 17%
    #   reference = average of the last 96 months (2017-07 .. 2025-06):
    #       54 months x 12,000 = 648,000
    #       42 months x 10,000 = 420,000
    #       1,068,000 / 96     =  11,125.00
    #   pension: 40% x 11,125 = 4,450.00 ; 17% x 11,125 = 1,891.25 ; total 6,341.25
    assert result.rules == "civil-2020"
    before, after = result.tranches
    assert (before.key, before.months, before.rate) == (
        "service-before-2017-01-01",
        192,
        Decimal("0.4"),
    )
    assert (after.key, after.months) == ("service-from-2017-01-01", 102)
    assert after.rate == Decimal("0.17")
    assert before.reference_salary == after.reference_salary == Decimal("11125.00")
    assert (before.amount, after.amount) == (Decimal("4450.00"), Decimal("1891.25"))
    assert result.amount == Decimal("6341.25")
    assert result.years_counted == Decimal("24.50")


def test_the_reference_of_acquired_rights_is_data_last_salary_is_one_figure_away() -> None:
    career = civil(
        (date(2001, 1, 1), date(2016, 12, 31), "8000"),
        (date(2017, 1, 1), date(2020, 12, 31), "10000"),
        (date(2021, 1, 1), date(2025, 6, 30), "12000"),
    )
    last_salary_reading = replace(
        REFORM_2020,
        tranches=(
            AnnuityTranche(date(2017, 1, 1), Decimal("0.025"), reference_months=1),
            AnnuityTranche(None, Decimal("0.02"), reference_months=96),
        ),
    )
    regime = Regime(RegimeCode.CIVIL, "variant", CIVIL.contributions, (last_salary_reading,))
    result = civil_pension(career, regime=regime, retirement_date=date(2025, 7, 1))
    # Same career, pre-2017 rights on the last salary: 40% x 12,000 = 4,800.00
    #   post-2017 rights unchanged: 17% x 11,125 = 1,891.25 ; total 6,691.25
    references = [tranche.reference_salary for tranche in result.tranches]
    assert references == [Decimal("12000.00"), Decimal("11125.00")]
    assert result.amount == Decimal("6691.25")


def test_the_reference_window_widens_with_the_year_of_departure() -> None:
    career = civil(
        (date(2000, 1, 1), date(2016, 6, 30), "6000"),
        (date(2016, 7, 1), date(2018, 6, 30), "9000"),
    )
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2018, 7, 1))
    # Rules civil-2018: average of the last 48 months (2014-07 .. 2018-06):
    #   24 x 9,000 + 24 x 6,000 = 360,000 ; / 48 = 7,500.00
    #   before 2017: 2000-01 .. 2016-12 = 204 months = 17 y x 2.5% = 42.5%  -> 3,187.50
    #   from 2017:   2017-01 .. 2018-06 =  18 months = 1.5 y x 2%  =  3%    ->   225.00
    assert result.rules == "civil-2018"
    assert {t.reference_salary for t in result.tranches} == {Decimal("7500.00")}
    assert {t.reference_months for t in result.tranches} == {48}
    assert result.amount == Decimal("3412.50")


def test_rates_beyond_100_percent_are_trimmed_from_the_newest_rights() -> None:
    career = civil((date(1978, 1, 1), date(2018, 12, 31), "7000"))
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2019, 1, 1))
    # Rules civil-2019 (72-month average = 7,000.00).
    #   before 2017: 1978-01 .. 2016-12 = 468 months = 39 y x 2.5% = 97.5%
    #   from 2017:   2017-01 .. 2018-12 =  24 months =  2 y x 2%   =  4%
    #   total 101.5% > 100%: the 2017+ tranche keeps 100% - 97.5% = 2.5%
    #   before the cap: 6,825.00 + 280.00 = 7,105.00 ; after: 6,825.00 + 175.00 = 7,000.00
    before, after = result.tranches
    assert (before.rate_after_cap, after.rate, after.rate_after_cap) == (
        Decimal("0.975"),
        Decimal("0.04"),
        Decimal("0.025"),
    )
    assert result.amount_before_cap_and_floor == Decimal("7105.00")
    assert result.amount_after_cap == result.amount == Decimal("7000.00")
    assert result.rate == Decimal("1.000")


def test_ten_years_of_service_open_the_1500_dirham_minimum() -> None:
    career = civil((date(2010, 1, 1), date(2024, 12, 31), "3000"))
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2025, 1, 1))
    # 2010-01 .. 2016-12 = 84 months = 7 y x 2.5% = 17.5% x 3,000 = 525.00
    # 2017-01 .. 2024-12 = 96 months = 8 y x 2%   = 16%   x 3,000 = 480.00
    # 1,005.00 < 1,500 and 15 years >= 10: the minimum applies -> 1,500.00
    assert result.amount_after_cap == Decimal("1005.00")
    assert result.minimum_pension == Decimal("1500")
    assert result.amount == Decimal("1500")


def test_under_ten_years_of_service_no_minimum_applies() -> None:
    career = civil((date(2018, 1, 1), date(2024, 12, 31), "3000"))
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2025, 1, 1))
    # 84 months = 7 y x 2% = 14% x 3,000 = 420.00 ; 7 years < 10: no floor
    assert result.minimum_pension is None
    assert result.amount == Decimal("420.00")


@pytest.mark.parametrize(
    ("start", "version"),
    [
        (date(2016, 12, 1), "civil-2011"),
        (date(2017, 1, 1), "civil-2017"),
        (date(2018, 6, 1), "civil-2018"),
        (date(2019, 12, 1), "civil-2019"),
        (date(2040, 1, 1), "civil-2020"),
    ],
)
def test_the_rules_are_those_in_force_when_the_pension_starts(start: date, version: str) -> None:
    assert CIVIL.rules_on(start).version == version


def test_no_rules_are_invented_before_the_catalogue_starts() -> None:
    with pytest.raises(RegimeNotInForce):
        CIVIL.rules_on(date(2010, 12, 1))


@pytest.mark.parametrize(
    ("born", "age_months"),
    [
        (1956, 720),
        (1957, 726),
        (1958, 732),
        (1959, 738),
        (1960, 744),
        (1961, 750),
        (1962, 756),
        (1990, 756),
    ],
)
def test_the_age_limit_rises_six_months_a_generation_to_63(born: int, age_months: int) -> None:
    assert pension_age_months(CIVIL.rules_on(date(2030, 1, 1)), date(born, 6, 1)) == age_months


def test_the_age_limit_was_60_for_everyone_before_the_reform() -> None:
    assert pension_age_months(CIVIL.rules_on(date(2016, 1, 1)), date(1962, 6, 1)) == 720


@pytest.mark.parametrize(
    "period",
    [
        CareerPeriod(date(2020, 1, 15), date(2020, 12, 31), Decimal(5000)),
        CareerPeriod(date(2020, 1, 1), date(2020, 12, 30), Decimal(5000)),
        CareerPeriod(date(2020, 1, 1), date(2020, 12, 31), Decimal(-1)),
    ],
)
def test_periods_must_be_whole_months_with_a_salary(period: CareerPeriod) -> None:
    with pytest.raises(InvalidCareer):
        civil_pension(
            Career(RegimeCode.CIVIL, (period,)), regime=CIVIL, retirement_date=date(2025, 1, 1)
        )


def test_overlapping_periods_are_refused() -> None:
    career = civil(
        (date(2010, 1, 1), date(2015, 12, 31), "5000"),
        (date(2015, 6, 1), date(2020, 12, 31), "6000"),
    )
    with pytest.raises(InvalidCareer, match="overlaps"):
        civil_pension(career, regime=CIVIL, retirement_date=date(2025, 1, 1))


def test_service_stops_with_the_month_before_retirement() -> None:
    career = civil((date(2017, 1, 1), date(2030, 12, 31), "5000"))
    result = civil_pension(career, regime=CIVIL, retirement_date=date(2027, 1, 15))
    # 2017-01 .. 2026-12 = 120 months = 10 y x 2% = 20% x 5,000 = 1,000.00 -> floor 1,500
    assert result.service_months == 120
    assert result.amount_after_cap == Decimal("1000.00")
    assert CATALOGUE.civil is CIVIL
