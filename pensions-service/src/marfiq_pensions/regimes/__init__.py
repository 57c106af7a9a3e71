"""Pension regimes as dated data, and the pure computations that read them."""

from marfiq_pensions.regimes.career import Career, CareerPeriod
from marfiq_pensions.regimes.catalogue import CATALOGUE, RegimeCatalogue
from marfiq_pensions.regimes.contributions import Contribution, contribution
from marfiq_pensions.regimes.errors import InvalidCareer, InvalidSalary, RegimeNotInForce
from marfiq_pensions.regimes.model import (
    CivilRules,
    ContributionRates,
    GeneralRules,
    PensionBreakdown,
    Refund,
    Regime,
    RegimeCode,
    Tranche,
    pension_age_months,
)
from marfiq_pensions.regimes.pension import civil_pension, general_pension, pension

__all__ = [
    "CATALOGUE",
    "Career",
    "CareerPeriod",
    "CivilRules",
    "Contribution",
    "ContributionRates",
    "GeneralRules",
    "InvalidCareer",
    "InvalidSalary",
    "PensionBreakdown",
    "Refund",
    "Regime",
    "RegimeCatalogue",
    "RegimeCode",
    "RegimeNotInForce",
    "Tranche",
    "civil_pension",
    "contribution",
    "general_pension",
    "pension",
    "pension_age_months",
]
