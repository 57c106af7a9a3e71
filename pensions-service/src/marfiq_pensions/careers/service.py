"""Careers: the file's periods and contributions, and simulations on the person's own career."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates.errors import AffiliateNotFound, AlreadyRetired, BirthDateUnknown
from marfiq_pensions.affiliates.models import Affiliate, AffiliateStatus
from marfiq_pensions.careers import build, repository
from marfiq_pensions.careers.schemas import (
    BreakdownRead,
    CareerPeriodRead,
    CareerRead,
    ContributionPage,
    ContributionRead,
    EstimateRead,
    RefundRead,
    SimulationCreate,
    TrancheRead,
)
from marfiq_pensions.dependencies import local_day
from marfiq_pensions.regimes import Career, RegimeCatalogue, RegimeCode
from marfiq_pensions.regimes.career import month_index
from marfiq_pensions.simulation import Estimate, simulate
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor

ZERO = Decimal(0)


async def career_of(session: AsyncSession, *, affiliate: Affiliate) -> CareerRead:
    """The career page: recorded and declared periods, and the contributions they carry."""
    recorded = await repository.recorded(session, affiliate.id)
    declared = await repository.declared(session, affiliate.id)
    views = build.periods(recorded, declared)
    return CareerRead(
        affiliation_number=affiliate.affiliation_number,
        regime=RegimeCode(affiliate.regime),
        periods=[CareerPeriodRead.model_validate(view, from_attributes=True) for view in views],
        months=len(
            {
                index
                for view in views
                for index in range(month_index(view.start), month_index(view.end) + 1)
            }
        ),
        employee_contributions=sum((month.employee for month in declared), ZERO),
        employer_contributions=sum((month.employer for month in declared), ZERO),
    )


async def contributions_of(
    session: AsyncSession, *, affiliate: Affiliate, cursor: str | None, limit: int
) -> ContributionPage:
    """Contribution lines in force, newest month first."""
    position = decode_cursor(cursor)
    before = None
    if position is not None:
        try:
            before = (date.fromisoformat(position["month"]), str(position["declaration"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidCursor() from None
    found = await repository.declared_page(session, affiliate.id, before=before, limit=limit + 1)
    items = [
        ContributionRead(
            period=f"{month.period:%Y-%m}",
            employer_id=month.employer_id,
            employer_name=month.employer_name,
            grade=month.grade,
            days_worked=month.days,
            gross_salary=month.salary,
            employee_contribution=month.employee,
            employer_contribution=month.employer,
            declaration_id=declaration_id,
        )
        for month, declaration_id in found[:limit]
    ]
    next_cursor = None
    if len(found) > limit:
        month, declaration_id = found[limit - 1]
        next_cursor = encode_cursor(
            {"month": month.period.isoformat(), "declaration": str(declaration_id)}
        )
    return ContributionPage(items=items, next_cursor=next_cursor)


async def counted_career(session: AsyncSession, *, affiliate: Affiliate) -> Career:
    """The career as the affiliate's regime counts it."""
    regime = RegimeCode(affiliate.regime)
    recorded = await repository.recorded(session, affiliate.id)
    declared = await repository.declared(session, affiliate.id)
    return build.career(
        regime,
        [(period.start, period.end, period.salary, period.days) for period in recorded],
        [(month.period, month.salary, month.days) for month in declared],
        max_days=build.DAYS_PER_MONTH[regime],
    )


async def simulation(
    connection: Any,
    *,
    cin: str,
    data: SimulationCreate,
    catalogue: RegimeCatalogue,
    now: datetime,
) -> EstimateRead:
    """Estimate the pension of the affiliate holding `cin`, on their own career."""
    found = await repository.simulation_input(connection, cin)
    if found is None:
        raise AffiliateNotFound()
    if found.status != AffiliateStatus.ACTIVE:
        raise AlreadyRetired()
    if found.birth_date is None:
        raise BirthDateUnknown()
    career = build.career(
        found.regime,
        found.recorded,
        found.declared,
        max_days=build.DAYS_PER_MONTH[found.regime],
    )
    estimate = simulate(
        career,
        birth_date=found.birth_date,
        retirement_date=data.retirement_date,
        salary_growth=data.salary_growth,
        regime_catalogue=catalogue,
        today=local_day(now),
    )
    return estimate_read(estimate)


def estimate_read(estimate: Estimate) -> EstimateRead:
    """The answer of a simulation. Built without validation: every value already has its
    field's type (the estimate's dataclasses are typed alike), and validating the nested
    models again cost as much as serialising them (py-spy, bench_pensions)."""
    breakdown = estimate.breakdown
    refund = breakdown.refund
    return EstimateRead.model_construct(
        retirement_date=estimate.retirement_date,
        monthly_pension=estimate.monthly_pension,
        salary_growth=estimate.salary_growth,
        current_salary=estimate.current_salary,
        final_salary=estimate.final_salary,
        projected_months=estimate.projected_months,
        breakdown=BreakdownRead.model_construct(
            regime=breakdown.regime,
            rules=breakdown.rules,
            pension_start=breakdown.pension_start,
            years_counted=breakdown.years_counted,
            service_months=breakdown.service_months,
            days_counted=breakdown.days_counted,
            rate=breakdown.rate,
            max_rate=breakdown.max_rate,
            tranches=[
                TrancheRead.model_construct(
                    key=tranche.key,
                    months=tranche.months,
                    days=tranche.days,
                    annuity_rate=tranche.annuity_rate,
                    rate=tranche.rate,
                    rate_after_cap=tranche.rate_after_cap,
                    reference_salary=tranche.reference_salary,
                    reference_months=tranche.reference_months,
                    amount=tranche.amount,
                )
                for tranche in breakdown.tranches
            ],
            amount_before_cap_and_floor=breakdown.amount_before_cap_and_floor,
            amount_after_cap=breakdown.amount_after_cap,
            minimum_pension=breakdown.minimum_pension,
            entitled=breakdown.entitled,
            refund=RefundRead.model_construct(
                employee=refund.employee, employer=refund.employer, total=refund.total
            )
            if refund
            else None,
        ),
    )
