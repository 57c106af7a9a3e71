"""Pension simulation: a career projected to a retirement date, then liquidated."""

from marfiq_pensions.simulation.errors import (
    InvalidSalaryGrowth,
    RetirementBeforeMinimumAge,
    RetirementDateInPast,
)
from marfiq_pensions.simulation.estimate import Estimate, simulate

__all__ = [
    "Estimate",
    "InvalidSalaryGrowth",
    "RetirementBeforeMinimumAge",
    "RetirementDateInPast",
    "simulate",
]
