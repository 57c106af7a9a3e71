"""Shapes of careers, contributions and simulations on the wire. Amounts are strings of
dirhams with two decimals, rates strings of fractions (0.5 = 50%)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from marfiq_pensions.regimes import RegimeCode


class CareerPeriodRead(BaseModel):
    start: date
    end: date
    months: int
    employer_id: uuid.UUID | None
    employer_name: str | None
    grade: str | None
    monthly_salary: Decimal
    days: int | None = Field(description="Days declared over the period (general regime)")
    employee_contribution: Decimal | None
    employer_contribution: Decimal | None
    source: Literal["declarations", "records"] = Field(
        description="Employers' monthly declarations, or the fund's earlier records"
    )


class CareerRead(BaseModel):
    affiliation_number: str
    regime: RegimeCode
    periods: list[CareerPeriodRead]
    months: int = Field(description="Months with a salary, all periods together")
    employee_contributions: Decimal = Field(description="Total declared, employee's share")
    employer_contributions: Decimal


class ContributionRead(BaseModel):
    period: str = Field(description="YYYY-MM")
    employer_id: uuid.UUID | None
    employer_name: str | None
    grade: str | None
    days_worked: int
    gross_salary: Decimal
    employee_contribution: Decimal
    employer_contribution: Decimal
    declaration_id: uuid.UUID


class ContributionPage(BaseModel):
    items: list[ContributionRead]
    next_cursor: str | None = None


class SimulationCreate(BaseModel):
    """When to retire, and how the salary is assumed to grow until then."""

    retirement_date: date
    salary_growth: Decimal = Field(
        default=Decimal(0),
        ge=Decimal("-0.10"),
        le=Decimal("0.20"),
        description="Yearly growth of the salary until retirement, as a fraction (0.02 = 2%)",
    )


class TrancheRead(BaseModel):
    key: str
    months: int
    days: int
    annuity_rate: Decimal | None
    rate: Decimal
    rate_after_cap: Decimal
    reference_salary: Decimal
    reference_months: int
    amount: Decimal


class RefundRead(BaseModel):
    employee: Decimal
    employer: Decimal
    total: Decimal


class BreakdownRead(BaseModel):
    regime: RegimeCode
    rules: str
    pension_start: date
    years_counted: Decimal
    service_months: int
    days_counted: int
    rate: Decimal
    max_rate: Decimal
    tranches: list[TrancheRead]
    amount_before_cap_and_floor: Decimal
    amount_after_cap: Decimal
    minimum_pension: Decimal | None
    entitled: bool
    refund: RefundRead | None


class EstimateRead(BaseModel):
    retirement_date: date
    monthly_pension: Decimal
    salary_growth: Decimal
    current_salary: Decimal
    final_salary: Decimal
    projected_months: int
    breakdown: BreakdownRead
