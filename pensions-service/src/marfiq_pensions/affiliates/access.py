"""Who reaches a pension file: a citizen whose token carries a proven CIN, their own only.

No route names an affiliate: the file is found from the token's CIN, so nobody can ask for
somebody else's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from marfiq_pensions.affiliates import repository
from marfiq_pensions.affiliates.errors import AffiliateNotFound, ProvenCinRequired
from marfiq_pensions.affiliates.models import Affiliate
from marfiq_shared.auth import CurrentPrincipal, Principal
from marfiq_shared.db import Session
from marfiq_shared.problems import Forbidden


@dataclass(frozen=True, slots=True)
class Holder:
    """The caller and their own file."""

    principal: Principal
    affiliate: Affiliate


async def require_proven_citizen(principal: CurrentPrincipal) -> Principal:
    if not principal.is_citizen:
        raise Forbidden("pension files are opened by the citizens they belong to")
    if not principal.cin:
        raise ProvenCinRequired()
    return principal


ProvenCitizen = Annotated[Principal, Depends(require_proven_citizen)]


def cin_of(principal: Principal) -> str:
    """The proven CIN of a caller `require_proven_citizen` let through."""
    assert principal.cin is not None
    return principal.cin.strip().upper()


async def own_file(principal: ProvenCitizen, session: Session) -> Holder:
    affiliate = await repository.by_cin(session, cin_of(principal))
    if affiliate is None:
        raise AffiliateNotFound()
    return Holder(principal, affiliate)


MyFile = Annotated[Holder, Depends(own_file)]
