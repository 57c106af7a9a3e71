"""In-person identity checks, recorded by an agent of the administration at the counter."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from marfiq_identity.assurance import service
from marfiq_identity.assurance.schemas import IdentityCheckCreate, IdentityCheckRead
from marfiq_shared.auth import CurrentPrincipal
from marfiq_shared.db import Session
from marfiq_shared.problems import Forbidden

router = APIRouter(
    prefix="/v1/administrations/{administration_id}/identity-checks", tags=["assurance"]
)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IdentityCheckRead)
async def record_identity_check(
    administration_id: uuid.UUID,
    body: IdentityCheckCreate,
    principal: CurrentPrincipal,
    session: Session,
) -> IdentityCheckRead:
    """Record that the person signing in with `contact` showed this identity document; their
    later code sign-ins prove the CIN at `substantial`. Agents of `administration_id` only."""
    if not principal.is_agent or principal.adm != administration_id:
        raise Forbidden()
    return await service.record_identity_check(
        session, administration_id=administration_id, agent=principal, data=body
    )
