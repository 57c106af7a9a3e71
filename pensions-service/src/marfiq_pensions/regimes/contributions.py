"""Pension contributions on a month's gross salary, at the rates of that month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from marfiq_pensions.regimes.errors import InvalidSalary
from marfiq_pensions.regimes.model import CivilRules, GeneralRules, Regime, money


class Contribution(NamedTuple):
    employee: Decimal
    employer: Decimal


def contribution(
    regime: Regime[CivilRules] | Regime[GeneralRules], gross_salary: Decimal, period: date
) -> Contribution:
    """The employee's and the employer's pension contributions for one month (ceiling applied)."""
    if gross_salary < 0:
        raise InvalidSalary("a gross salary cannot be negative")
    rates = regime.contribution_rates(period)
    base = gross_salary
    if rates.monthly_ceiling is not None and base > rates.monthly_ceiling:
        base = rates.monthly_ceiling
    return Contribution(money(base * rates.employee), money(base * rates.employer))
