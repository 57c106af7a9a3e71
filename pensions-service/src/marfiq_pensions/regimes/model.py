"""Shapes of the regimes' parameters and of a computed pension: frozen data, Decimal money."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from marfiq_pensions.regimes.errors import RegimeNotInForce

CENT = Decimal("0.01")


def money(amount: Decimal) -> Decimal:
    """Round an amount to the centime, half up, as payslips and pension notices do."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


class RegimeCode(StrEnum):
    CIVIL = "civil"  # régime des pensions civiles, Caisse marocaine des retraites (CMR)
    GENERAL = "general"  # régime général de sécurité sociale, CNSS (private sector)


@dataclass(frozen=True, slots=True)
class ContributionRates:
    """Shares of the monthly gross salary owed to the pension branch from `effective_from` on."""

    effective_from: date
    employee: Decimal
    employer: Decimal
    monthly_ceiling: Decimal | None = None  # salary above it bears no contribution


@dataclass(frozen=True, slots=True)
class PensionAge:
    """Pension age, in months, of people born in `born_from` or later."""

    born_from: int
    months: int


@dataclass(frozen=True, slots=True)
class AnnuityTranche:
    """Service before `until` (all remaining service when None) earns `annuity_rate` a year."""

    until: date | None
    annuity_rate: Decimal
    reference_months: int  # months of salary averaged into the reference (1 = last salary)


@dataclass(frozen=True, slots=True)
class CivilRules:
    """How the civil regime liquidates a pension starting on or after `effective_from`."""

    version: str
    effective_from: date
    pension_age: tuple[PensionAge, ...]
    tranches: tuple[AnnuityTranche, ...]
    max_rate: Decimal
    minimum_pension: Decimal
    minimum_pension_service_years: int


@dataclass(frozen=True, slots=True)
class MinimumBand:
    """Minimum monthly pension of a short career of `from_days` contribution days or more."""

    from_days: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class GeneralRules:
    """How the general regime liquidates a pension starting on or after `effective_from`."""

    version: str
    effective_from: date
    pension_age: tuple[PensionAge, ...]
    max_days_per_month: int
    full_days: int
    full_rate: Decimal
    increment_days: int
    increment_rate: Decimal
    max_rate: Decimal
    reference_months: int
    minimum_pension: Decimal
    short_career_days: int | None = None  # None: no pension below `full_days`
    short_career_minimums: tuple[MinimumBand, ...] = ()
    refund_employer_share: bool = False  # without a pension, is the employer's share refunded


Rules = TypeVar("Rules", CivilRules, GeneralRules)


@dataclass(frozen=True, slots=True)
class Regime(Generic[Rules]):
    """A regime: its dated contribution rates and its dated liquidation rules, oldest first."""

    code: RegimeCode
    name: str
    contributions: tuple[ContributionRates, ...]
    rules: tuple[Rules, ...]
    _contribution_starts: tuple[date, ...] = field(init=False, repr=False, compare=False)
    _rule_starts: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = tuple(rates.effective_from for rates in self.contributions)
        rule_starts = tuple(rules.effective_from for rules in self.rules)
        if list(starts) != sorted(starts) or list(rule_starts) != sorted(rule_starts):
            raise ValueError(f"{self.code}: parameter sets must be listed oldest first")
        object.__setattr__(self, "_contribution_starts", starts)
        object.__setattr__(self, "_rule_starts", rule_starts)

    def contribution_rates(self, on: date) -> ContributionRates:
        """The contribution rates in force on a day (a declared month is its first day)."""
        position = bisect_right(self._contribution_starts, on)
        if position == 0:
            raise RegimeNotInForce(f"no {self.code} contribution rates on {on.isoformat()}")
        return self.contributions[position - 1]

    def contribution_boundaries(self) -> tuple[date, ...]:
        """The days on which contribution rates changed, oldest first."""
        return self._contribution_starts

    def rules_on(self, pension_start: date) -> Rules:
        """The liquidation rules of a pension starting on a given day."""
        position = bisect_right(self._rule_starts, pension_start)
        if position == 0:
            raise RegimeNotInForce(
                f"no {self.code} pension rules for a pension starting {pension_start.isoformat()}"
            )
        return self.rules[position - 1]


def pension_age_months(rules: CivilRules | GeneralRules, birth_date: date) -> int:
    """The pension age, in months, of someone born on `birth_date` under these rules."""
    months = rules.pension_age[0].months
    for step in rules.pension_age:
        if step.born_from <= birth_date.year:
            months = step.months
    return months


@dataclass(frozen=True, slots=True)
class Refund:
    """Contributions paid back when the career opens no pension (nominal, not revalued)."""

    employee: Decimal
    employer: Decimal

    @property
    def total(self) -> Decimal:
        return self.employee + self.employer


@dataclass(frozen=True, slots=True)
class Tranche:
    """One line of the breakdown: a share of the career and the rate it earns."""

    key: str  # e.g. "service-before-2017-01-01", "first-3240-days", "additional-days"
    months: int  # months of service in this tranche
    days: int  # contribution days counted (general regime), 0 for the civil regime
    annuity_rate: Decimal | None  # rate per year of service (civil regime)
    rate: Decimal  # replacement rate earned, before the cap
    rate_after_cap: Decimal
    reference_salary: Decimal
    reference_months: int  # months actually averaged into `reference_salary`
    amount: Decimal  # monthly amount after the cap, before the floor


@dataclass(frozen=True, slots=True)
class PensionBreakdown:
    """A monthly pension and how it was reached."""

    regime: RegimeCode
    rules: str  # version of the rules applied
    pension_start: date
    service_months: int  # months of service (civil) or declared months (general) counted
    days_counted: int  # contribution days (general regime), 0 for the civil regime
    tranches: tuple[Tranche, ...]
    max_rate: Decimal
    amount_before_cap_and_floor: Decimal
    amount_after_cap: Decimal
    minimum_pension: Decimal | None  # the floor that applied to this career, if any
    amount: Decimal  # the monthly pension, after the cap and the floor
    entitled: bool  # False: the career opens no pension (see `refund`)
    refund: Refund | None = None

    @property
    def years_counted(self) -> Decimal:
        """Service in years, to the hundredth, for display."""
        return money(Decimal(self.service_months) / 12)

    @property
    def rate(self) -> Decimal:
        """Total replacement rate after the cap."""
        return sum((tranche.rate_after_cap for tranche in self.tranches), Decimal(0))
