"""Who is calling, as the correspondence rules see it: a person, or an administration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from marfiq_correspondence.correspondence.errors import NotACorrespondenceParty
from marfiq_shared.auth import CurrentPrincipal, Principal

READ_SCOPE = "correspondence:read"
WRITE_SCOPE = "correspondence:write"


@dataclass(frozen=True, slots=True)
class Viewer:
    """A person (citizen, company representative: sees what they sent) or an agent /
    partner client of one administration (sees what it holds, held, or sent)."""

    sub: str
    administration_id: uuid.UUID | None = None
    cin: str | None = None
    is_client: bool = False

    @property
    def is_agent(self) -> bool:
        return self.administration_id is not None

    @property
    def role(self) -> str:
        if self.is_client:
            return "client"
        return "agent" if self.is_agent else "sender"


def viewer_for(principal: Principal, *, write: bool) -> Viewer:
    """The viewer a token makes; a partner client needs the scope for what it does."""
    if principal.adm is not None and (principal.is_agent or principal.is_client):
        if principal.is_client:
            needed = {WRITE_SCOPE} if write else {READ_SCOPE, WRITE_SCOPE}
            if not needed & principal.scope:
                raise NotACorrespondenceParty(required_scope=WRITE_SCOPE if write else READ_SCOPE)
        return Viewer(principal.sub, principal.adm, is_client=principal.is_client)
    if principal.is_citizen:
        return Viewer(principal.sub, cin=principal.cin)
    raise NotACorrespondenceParty()


async def _reader(principal: CurrentPrincipal) -> Viewer:
    return viewer_for(principal, write=False)


async def _writer(principal: CurrentPrincipal) -> Viewer:
    return viewer_for(principal, write=True)


Reader = Annotated[Viewer, Depends(_reader)]
Writer = Annotated[Viewer, Depends(_writer)]
