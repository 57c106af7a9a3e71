"""The simulation's answer, built without validation, is what validating it would give."""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal

import pytest

from marfiq_pensions.careers.schemas import EstimateRead
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
def test_the_answer_serialises_as_its_validated_self(estimate: Estimate) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a value of the wrong type warns when serialised
        answer = estimate_read(estimate)
        dumped = answer.model_dump_json()

    validated = EstimateRead.model_validate(answer.model_dump())
    assert validated == answer
    assert validated.model_dump_json() == dumped
    assert (answer.breakdown.refund is None) == estimate.breakdown.entitled
