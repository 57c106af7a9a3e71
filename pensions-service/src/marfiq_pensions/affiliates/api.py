"""Routes of the citizen's own file: the affiliation summary and the data they may change."""

from __future__ import annotations

from fastapi import APIRouter

from marfiq_pensions.affiliates import service
from marfiq_pensions.affiliates.access import MyFile
from marfiq_pensions.affiliates.schemas import AffiliateRead, AffiliateUpdate
from marfiq_pensions.dependencies import Now
from marfiq_shared.db import Session

router = APIRouter(prefix="/v1/pensions/me", tags=["affiliation"])


@router.get("", response_model=AffiliateRead)
async def my_file(holder: MyFile) -> AffiliateRead:
    """The caller's affiliation summary (their token must carry a proven CIN)."""
    return service.read(holder.affiliate)


@router.patch("", response_model=AffiliateRead)
async def update_my_file(
    data: AffiliateUpdate, holder: MyFile, session: Session, now: Now
) -> AffiliateRead:
    """Change the postal address, or the phone the fund holds (assurance `substantial`)."""
    return await service.update(
        session, holder=holder.principal, affiliate=holder.affiliate, data=data, now=now
    )
