"""Who may manage an administration's people and machines: the platform administrator, and
the supervisors of that administration, nobody else."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from marfiq_identity.administrations import repository
from marfiq_identity.administrations.errors import AdministrationNotFound
from marfiq_identity.tokens.service import session_is_active
from marfiq_shared.auth import CurrentPrincipal, Principal
from marfiq_shared.db import Session
from marfiq_shared.problems import Forbidden, InvalidToken


async def require_manager(
    administration_id: uuid.UUID, principal: CurrentPrincipal, session: Session
) -> Principal:
    """The caller, when they may manage `administration_id`; 403 otherwise.

    A supervisor of another administration gets 403, not 404: the directory is public, so
    hiding that the administration exists would protect nothing.
    """
    if not await session_is_active(session, sid=principal.sid):
        raise InvalidToken("session revoked")
    if principal.is_platform_admin:
        if not await repository.exists(session, administration_id):
            raise AdministrationNotFound()
        return principal
    if principal.adm == administration_id and "supervisor" in principal.roles:
        return principal
    raise Forbidden()


Manager = Annotated[Principal, Depends(require_manager)]
