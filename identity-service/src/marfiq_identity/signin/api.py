"""Sign-in with the NFC identity card (ICAO 9303): a nonce, then the chip's answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from marfiq_identity.dependencies import Db, Device, Keys, Settings
from marfiq_identity.eid.schemas import EidChallengeRead, EidVerify, encode_base64
from marfiq_identity.eid.trust import TrustList
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.notifications.worker import DeliveryWorker
from marfiq_identity.raw import raw_connection
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.signin import eid
from marfiq_identity.tokens.schemas import TokenResponse, no_store
from marfiq_identity.tokens.service import session_is_active
from marfiq_identity.transactions import in_raw_transaction
from marfiq_shared.auth import TokenVerifier, bearer_token
from marfiq_shared.db import Database
from marfiq_shared.i18n import current_language
from marfiq_shared.problems import InvalidToken

router = APIRouter(prefix="/v1/auth/eid", tags=["sign-in"])


def _trust(request: Request) -> TrustList:
    trust: TrustList = request.app.state.eid_trust
    return trust


Trust = Annotated[TrustList, Depends(_trust)]


async def _linking(request: Request) -> uuid.UUID | None:
    """The signed-in citizen asking to tie the card to their account, when a token is sent."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token)
    if not principal.is_citizen or principal.sid is None:
        raise InvalidToken("only a citizen's session can be tied to a card")
    database = request.app.state.db
    async with database.sessionmaker() as session:
        if not await session_is_active(session, sid=principal.sid):
            raise InvalidToken("session revoked")
    return uuid.UUID(principal.sub)


Linking = Annotated[uuid.UUID | None, Depends(_linking)]


@router.post("/challenge", status_code=status.HTTP_201_CREATED, response_model=EidChallengeRead)
async def open_challenge(database: Db, settings: Settings) -> EidChallengeRead:
    """A fresh nonce (8 random bytes) for the chip's Active Authentication; single use."""
    return await hand_out_nonce(database=database, settings=settings)


async def hand_out_nonce(*, database: Database, settings: IdentitySettings) -> EidChallengeRead:
    """What `POST /v1/auth/eid/challenge` does (also served by `hot_routes`)."""
    async with raw_connection(database) as connection:  # one INSERT: no transaction around it
        challenge = await eid.open_challenge(connection, ttl_s=settings.eid_challenge_ttl_s)
    return EidChallengeRead(challenge_id=challenge.id, nonce=encode_base64(challenge.nonce))


@router.post("/verify", response_model=TokenResponse)
async def verify(
    body: EidVerify,
    database: Db,
    settings: Settings,
    keyring: Keys,
    trust: Trust,
    linking: Linking,
    device: Device,
    request: Request,
    response: Response,
) -> TokenResponse:
    """Check the card (Passive and Active Authentication, expiry) and sign its holder in at
    `high` with the proven CIN; the account is found, created, or tied to the caller's."""
    no_store(response)
    return await sign_in_with_card(
        body,
        database=database,
        settings=settings,
        keyring=keyring,
        trust=trust,
        linking=linking,
        device=device,
        worker=request.app.state.delivery_worker,
    )


async def sign_in_with_card(
    body: EidVerify,
    *,
    database: Database,
    settings: IdentitySettings,
    keyring: KeyRing,
    trust: TrustList,
    linking: uuid.UUID | None,
    device: str | None,
    worker: DeliveryWorker,
) -> TokenResponse:
    """What `POST /v1/auth/eid/verify` does (also served by `hot_routes` when no account
    is being linked)."""
    files = body.files()
    try:
        opened = await in_raw_transaction(
            database,
            lambda transaction: eid.sign_in_with_card(
                transaction,
                challenge_id=body.challenge_id,
                files=files,
                trust=trust,
                linking=linking,
                language=current_language.get(),
                device=device,
                keyring=keyring,
                settings=settings,
                now=datetime.now(UTC),
            ),
        )
    except eid.CardRefused as refused:
        raise refused.problem from None
    if opened.notice_queued:
        worker.wake()  # the new-device notice, now
    return opened.tokens
