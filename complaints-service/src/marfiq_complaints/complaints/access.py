"""Who is calling, as the complaints rules see it: the owner side or an administration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from marfiq_complaints.complaints.errors import NotAComplaintsParty
from marfiq_complaints.lifecycle import Actor, ActorRole
from marfiq_shared.auth import CurrentPrincipal, Principal

READ_SCOPE = "complaints:read"
WRITE_SCOPE = "complaints:write"


@dataclass(frozen=True, slots=True)
class Viewer:
    """A citizen (sees what they filed) or an agent / partner client of one administration
    (sees what that administration holds now)."""

    sub: str
    role: ActorRole
    administration_id: uuid.UUID | None = None

    @property
    def is_agent(self) -> bool:
        return self.role is ActorRole.AGENT

    @property
    def actor(self) -> Actor:
        if self.administration_id is not None:
            return Actor.agent(self.sub, administration_id=str(self.administration_id))
        return Actor.citizen(self.sub)


def viewer_for(principal: Principal, *, write: bool) -> Viewer:
    """The viewer a token makes; a partner client needs the scope for what it does."""
    if principal.adm is not None and (principal.is_agent or principal.is_client):
        if principal.is_client:
            needed = {WRITE_SCOPE} if write else {READ_SCOPE, WRITE_SCOPE}
            if not needed & principal.scope:
                raise NotAComplaintsParty(required_scope=WRITE_SCOPE if write else READ_SCOPE)
        return Viewer(principal.sub, ActorRole.AGENT, principal.adm)
    if principal.is_citizen:
        return Viewer(principal.sub, ActorRole.CITIZEN)
    raise NotAComplaintsParty()


async def _reader(principal: CurrentPrincipal) -> Viewer:
    return viewer_for(principal, write=False)


async def _writer(principal: CurrentPrincipal) -> Viewer:
    return viewer_for(principal, write=True)


Reader = Annotated[Viewer, Depends(_reader)]
Writer = Annotated[Viewer, Depends(_writer)]
