"""The signed-in user's own account."""

from __future__ import annotations

from fastapi import APIRouter

from marfiq_identity.accounts import service
from marfiq_identity.accounts.schemas import MeRead
from marfiq_shared.auth import CurrentPrincipal
from marfiq_shared.db import Session

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me", response_model=MeRead)
async def read_me(principal: CurrentPrincipal, session: Session) -> MeRead:
    """Who I am: roles, assurance level, contacts, language, administration."""
    return await service.read_profile(session, principal=principal)
