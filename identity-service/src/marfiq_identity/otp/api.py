"""Sign-in by code: ask for a code, then answer it."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from marfiq_identity.dependencies import (
    ClientAddress,
    Db,
    Device,
    Hasher,
    Keys,
    Post,
    Settings,
)
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.notifications.postman import Postman
from marfiq_identity.notifications.worker import DeliveryWorker
from marfiq_identity.otp import service
from marfiq_identity.otp.codes import CodeHasher
from marfiq_identity.otp.errors import ChannelUnavailable
from marfiq_identity.otp.schemas import OtpChallengeRead, OtpRequest, OtpVerify
from marfiq_identity.raw import raw_connection
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.tokens.schemas import TokenResponse, no_store
from marfiq_identity.transactions import in_raw_transaction
from marfiq_shared.db import Database
from marfiq_shared.i18n import current_language

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


@router.post("/otp", status_code=status.HTTP_202_ACCEPTED, response_model=OtpChallengeRead)
async def request_code(
    body: OtpRequest,
    database: Db,
    settings: Settings,
    postman: Post,
    hasher: Hasher,
    address: ClientAddress,
) -> OtpChallengeRead:
    """Send a six-digit code to a phone (SMS) or e-mail address.

    The answer is the same whether or not an account uses this contact; the first
    verified code creates one.
    """
    return await ask_for_code(
        body, database=database, settings=settings, postman=postman, hasher=hasher, address=address
    )


async def ask_for_code(
    body: OtpRequest,
    *,
    database: Database,
    settings: IdentitySettings,
    postman: Postman,
    hasher: CodeHasher,
    address: str,
) -> OtpChallengeRead:
    """What `POST /v1/auth/otp` does (also served by `hot_routes`)."""
    if not postman.can_send(body.channel):
        raise ChannelUnavailable()
    # One statement, atomic by itself: no BEGIN and COMMIT round trips around it.
    async with raw_connection(database) as connection:
        issued = await service.request_code(
            connection,
            channel=body.channel,
            destination=body.destination,
            language=current_language.get(),
            client_address=address,
            settings=settings,
            hasher=hasher,
        )
    # Sent only now that the challenge is committed, in the background.
    postman.post(issued.message)
    return OtpChallengeRead(challenge_id=issued.challenge_id, expires_in=issued.expires_in)


@router.post("/otp/verify", response_model=TokenResponse)
async def verify_code(
    body: OtpVerify,
    database: Db,
    settings: Settings,
    hasher: Hasher,
    keyring: Keys,
    device: Device,
    request: Request,
    response: Response,
) -> TokenResponse:
    """Answer a code: tokens for the account of that contact (created on first sign-in)."""
    no_store(response)
    return await answer_code(
        body,
        database=database,
        settings=settings,
        hasher=hasher,
        keyring=keyring,
        device=device,
        worker=request.app.state.delivery_worker,
    )


async def answer_code(
    body: OtpVerify,
    *,
    database: Database,
    settings: IdentitySettings,
    hasher: CodeHasher,
    keyring: KeyRing,
    device: str | None,
    worker: DeliveryWorker,
) -> TokenResponse:
    """What `POST /v1/auth/otp/verify` does (also served by `hot_routes`)."""
    opened = await in_raw_transaction(
        database,
        lambda session: service.sign_in_with_code(
            session,
            challenge_id=body.challenge_id,
            code=body.code,
            settings=settings,
            hasher=hasher,
            keyring=keyring,
            device=device,
        ),
    )
    if opened.notice_queued:
        # Send the new-device notice now rather than at the next poll; waking the worker
        # after every sign-in would cost it a database round per sign-in.
        worker.wake()
    return opened.tokens
