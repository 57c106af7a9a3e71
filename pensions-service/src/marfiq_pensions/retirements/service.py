"""Retirements: the fund records when an affiliate's pension starts; the next payment run
liquidates it from the career and pays it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates import repository as affiliates
from marfiq_pensions.affiliates.errors import AffiliateNotFound
from marfiq_pensions.affiliates.models import AffiliateStatus
from marfiq_pensions.affiliates.schemas import AffiliateRead
from marfiq_pensions.affiliates.service import read
from marfiq_pensions.retirements.errors import NotActive
from marfiq_pensions.retirements.schemas import RetirementCreate
from marfiq_shared.problems import ValidationFailed


async def record_retirement(
    session: AsyncSession, *, data: RetirementCreate, now: datetime
) -> AffiliateRead:
    """Mark an active affiliate retired from `pension_start` (liquidated by the payment run)."""
    if data.pension_start.day != 1:
        raise ValidationFailed(
            "a pension starts on the first day of a month",
            errors=[{"field": "pension_start", "in": "body", "message": "not a first day"}],
        )
    affiliate = await affiliates.by_cin_for_update(session, data.cin.upper())
    if affiliate is None:
        raise AffiliateNotFound()
    if affiliate.status != AffiliateStatus.ACTIVE:
        raise NotActive(f"the affiliate is {affiliate.status}")
    affiliate.status = AffiliateStatus.RETIRED.value
    affiliate.pension_start = data.pension_start
    affiliate.monthly_pension = None  # the payment run computes it from the career
    affiliate.updated_at = now
    affiliate.version += 1
    await session.flush()
    return read(affiliate)
