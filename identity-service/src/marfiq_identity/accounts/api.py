"""The signed-in user's own account."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import profile, service
from marfiq_identity.accounts.schemas import (
    ContactVerify,
    MeRead,
    MeUpdate,
    MeUpdated,
    PendingContact,
)
from marfiq_identity.dependencies import ClientAddress, Db, Hasher, Post, Settings
from marfiq_identity.otp.errors import ChannelUnavailable
from marfiq_identity.transactions import in_transaction
from marfiq_shared.auth import CurrentPrincipal
from marfiq_shared.db import Session

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me", response_model=MeRead)
async def read_me(principal: CurrentPrincipal, session: Session) -> MeRead:
    """Who I am: roles, assurance level, contacts, language, administration."""
    return await service.read_profile(session, principal=principal)


@router.patch("/me", response_model=MeUpdated)
async def update_me(
    body: MeUpdate,
    principal: CurrentPrincipal,
    database: Db,
    settings: Settings,
    hasher: Hasher,
    postman: Post,
    address: ClientAddress,
) -> MeUpdated:
    """Change my language; for a new phone or e-mail, a code is sent to it and the change
    waits for `POST /v1/me/contact/verify`. Once a CIN is proven on the account, changing a
    contact needs a session at `substantial` or above."""
    if body.phone is not None and not postman.can_send("sms"):
        raise ChannelUnavailable()
    if body.email is not None and not postman.can_send("email"):
        raise ChannelUnavailable()

    async def work(session: AsyncSession) -> tuple[profile.ProfileChange, MeRead]:
        change = await profile.update_profile(
            session,
            principal=principal,
            changes=body,
            settings=settings,
            hasher=hasher,
            client_address=address,
        )
        return change, await service.read_profile(session, principal=principal)

    change, me = await in_transaction(database, work)
    pending = None
    if change.issued is not None and change.channel is not None:
        postman.post(change.issued.message)
        pending = PendingContact(
            channel=change.channel,
            challenge_id=change.issued.challenge_id,
            expires_in=change.issued.expires_in,
        )
    return MeUpdated(**me.model_dump(), pending_contact=pending)


@router.post("/me/contact/verify", response_model=MeRead)
async def verify_contact(
    body: ContactVerify,
    principal: CurrentPrincipal,
    database: Db,
    settings: Settings,
    hasher: Hasher,
) -> MeRead:
    """Confirm a new phone or e-mail with the code sent to it."""

    async def work(session: AsyncSession) -> MeRead:
        await profile.confirm_contact(
            session,
            principal=principal,
            challenge_id=body.challenge_id,
            code=body.code,
            settings=settings,
            hasher=hasher,
        )
        return await service.read_profile(session, principal=principal)

    return await in_transaction(database, work)
