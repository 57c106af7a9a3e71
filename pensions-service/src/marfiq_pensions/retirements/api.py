"""Routes of retirements: the fund's operators record when a pension starts."""

from __future__ import annotations

from fastapi import APIRouter

from marfiq_pensions.affiliates.schemas import AffiliateRead
from marfiq_pensions.dependencies import Now
from marfiq_pensions.retirements import service
from marfiq_pensions.retirements.schemas import RetirementCreate
from marfiq_shared.auth import PlatformAdmin
from marfiq_shared.db import Session

router = APIRouter(tags=["payments"])


@router.post("/v1/pensions/retirements", response_model=AffiliateRead)
async def record_retirement(
    data: RetirementCreate, admin: PlatformAdmin, session: Session, now: Now
) -> AffiliateRead:
    """Record that an active affiliate's pension starts (operators): the next payment run
    liquidates the pension from the career and pays it to the account in force."""
    return await service.record_retirement(session, data=data, now=now)
