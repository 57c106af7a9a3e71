"""The OAuth 2.0 token endpoint and logout."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header, Response, status

from marfiq_identity.clients import service as clients
from marfiq_identity.dependencies import Db, Keys, Settings
from marfiq_identity.tokens import service
from marfiq_identity.tokens.errors import InvalidClient, InvalidGrant, UnsupportedGrantType
from marfiq_identity.tokens.schemas import TokenResponse, no_store
from marfiq_identity.transactions import in_transaction
from marfiq_shared.auth import CurrentPrincipal
from marfiq_shared.db import Session

router = APIRouter(prefix="/v1/auth", tags=["sign-in"])


def basic_credentials(authorization: str | None) -> tuple[str, str]:
    """client_id and secret from `Authorization: Basic` (form-encoded, RFC 6749 §2.3.1)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise InvalidClient()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidClient() from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator or not client_id:
        raise InvalidClient()
    return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))


@router.post("/token", response_model=TokenResponse)
async def token(
    grant_type: Annotated[str, Form(max_length=64)],
    database: Db,
    keyring: Keys,
    settings: Settings,
    response: Response,
    refresh_token: Annotated[str | None, Form(max_length=256)] = None,
    scope: Annotated[str | None, Form(max_length=1024)] = None,
    authorization: Annotated[str | None, Header(max_length=2048)] = None,
) -> TokenResponse:
    """`refresh_token` (rotated on every use; a reused one revokes its session) or
    `client_credentials` with HTTP Basic client authentication."""
    no_store(response)
    if grant_type == "refresh_token":
        if not refresh_token:
            raise InvalidGrant("refresh_token is required")
        presented = refresh_token
        return await in_transaction(
            database,
            lambda session: service.refresh(
                session, refresh_token=presented, keyring=keyring, settings=settings
            ),
        )
    if grant_type == "client_credentials":
        client_id, secret = basic_credentials(authorization)
        async with database.sessionmaker() as session:
            client = await clients.authenticate(session, client_id=client_id, secret=secret)
        return service.client_token(
            client_id=client.client_id,
            administration_id=client.administration_id,
            granted=client.scopes,
            requested=scope,
            keyring=keyring,
            settings=settings,
        )
    raise UnsupportedGrantType()


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, session: Session, settings: Settings) -> None:
    """End the caller's session: its refresh tokens stop working and gateways refuse its
    access tokens from now on."""
    await service.logout(session, principal=principal, settings=settings)
