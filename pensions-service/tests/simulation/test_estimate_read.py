"""The simulation's answer carries every figure of the estimate, under the names of the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marfiq_pensions.careers.service import estimate_read
from marfiq_pensions.regimes import CATALOGUE, Career, CareerPeriod, RegimeCode
from marfiq_pensions.simulation import Estimate, simulate


def _estimate(regime: RegimeCode, start: date, birth_date: date, retirement: date) -> Estimate:
    career = Career(regime, (CareerPeriod(start, date(2025, 12, 31), Decimal("9876.54")),))
    return simulate(
        career,
        birth_date=birth_date,
        retirement_date=retirement,
        salary_growth=Decimal("0.015"),
        regime_catalogue=CATALOGUE,
        today=date(2026, 1, 15),
    )


@pytest.mark.parametrize(
    "estimate",
    [
        _estimate(RegimeCode.CIVIL, date(2000, 1, 1), date(1966, 3, 10), date(2029, 7, 1)),
        _estimate(RegimeCode.GENERAL, date(2012, 1, 1), date(1967, 2, 1), date(2027, 3, 1)),
        # two years of declarations open no pension: a refund instead
        _estimate(RegimeCode.GENERAL, date(2024, 1, 1), date(1966, 1, 1), date(2026, 2, 1)),
    ],
    ids=["civil", "general", "general-refund"],
)
def test_the_answer_carries_every_figure_of_the_estimate(estimate: Estimate) -> None:
    answer = estimate_read(estimate)

    breakdown, read = estimate.breakdown, answer.model_dump()["breakdown"]
    assert answer.monthly_pension == estimate.monthly_pension == breakdown.amount
    assert (answer.current_salary, answer.final_salary, answer.projected_months) == (
        estimate.current_salary,
        estimate.final_salary,
        estimate.projected_months,
    )
    assert (read["years_counted"], read["rate"], read["service_months"]) == (
        breakdown.years_counted,
        breakdown.rate,
        breakdown.service_months,
    )
    assert [(t["key"], t["rate_after_cap"], t["amount"]) for t in read["tranches"]] == [
        (t.key, t.rate_after_cap, t.amount) for t in breakdown.tranches
    ]
    refund = breakdown.refund
    assert read["refund"] == (
        None
        if refund is None
        else {"employee": refund.employee, "employer": refund.employer, "total": refund.total}
    )
    assert (refund is None) == breakdown.entitled
    assert '"regime":"' + breakdown.regime.value + '"' in answer.model_dump_json()
