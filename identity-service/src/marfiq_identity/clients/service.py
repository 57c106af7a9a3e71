"""Partner clients: creation, secret rotation and revocation, and client authentication.

The secret is 256 random bits. For such a secret a plain SHA-256 is as good as a slow
password hash: nothing can be guessed, so argon2/scrypt would add no protection, only
~50 ms of CPU to every client-credentials sign-in (and a denial-of-service lever). A slow
hash earns its cost on low-entropy human passwords, which this is not.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.clients import repository
from marfiq_identity.clients.errors import ClientNotFound
from marfiq_identity.clients.models import PartnerClient
from marfiq_identity.clients.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    ClientSecretRead,
)
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.tokens.errors import InvalidClient

CLIENT_ID_PREFIX = "mcl_"
# Recognisable by secret scanners, like GitHub's "ghp_".
CLIENT_SECRET_PREFIX = "mcs_"
_UNKNOWN = hashlib.sha256(b"no such client").digest()


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _new_secret() -> str:
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


async def create_client(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    data: ClientCreate,
    created_by: str,
    now: datetime | None = None,
) -> ClientCreated:
    """Register a client of `administration_id`; the answer holds its only clear secret."""
    now = now or datetime.now(UTC)
    secret = _new_secret()
    client = PartnerClient(
        id=uuid.uuid4(),
        client_id=CLIENT_ID_PREFIX + secrets.token_urlsafe(16),
        administration_id=administration_id,
        name=data.name,
        scopes=sorted(set(data.scopes)),
        secret_hash=hash_secret(secret),
        previous_secret_hash=None,
        previous_secret_expires_at=None,
        created_by=created_by,
        created_at=now,
        secret_rotated_at=now,
        revoked_at=None,
    )
    repository.add(session, client)
    await session.flush()
    return ClientCreated(**ClientRead.model_validate(client).model_dump(), client_secret=secret)


async def list_clients(session: AsyncSession, *, administration_id: uuid.UUID) -> list[ClientRead]:
    """Every client of an administration, revoked ones included."""
    clients = await repository.of_administration(session, administration_id)
    return [ClientRead.model_validate(client) for client in clients]


async def _owned(
    session: AsyncSession, *, administration_id: uuid.UUID, client_id: str
) -> PartnerClient:
    client = await repository.by_client_id(session, client_id, for_update=True)
    if client is None or client.administration_id != administration_id:
        raise ClientNotFound()
    return client


async def rotate_secret(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    client_id: str,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> ClientSecretRead:
    """Issue a new secret; the current one keeps working for `client_secret_overlap_s`."""
    now = now or datetime.now(UTC)
    client = await _owned(session, administration_id=administration_id, client_id=client_id)
    if client.revoked_at is not None:
        raise ClientNotFound()
    secret = _new_secret()
    overlap = timedelta(seconds=settings.client_secret_overlap_s)
    client.previous_secret_hash = client.secret_hash if overlap else None
    client.previous_secret_expires_at = now + overlap if overlap else None
    client.secret_hash = hash_secret(secret)
    client.secret_rotated_at = now
    return ClientSecretRead(
        client_id=client.client_id,
        client_secret=secret,
        previous_secret_expires_at=client.previous_secret_expires_at,
    )


async def revoke_client(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    client_id: str,
    now: datetime | None = None,
) -> None:
    """Refuse every secret of the client from now on (idempotent)."""
    client = await _owned(session, administration_id=administration_id, client_id=client_id)
    if client.revoked_at is None:
        client.revoked_at = now or datetime.now(UTC)
        client.previous_secret_hash = None


async def authenticate(
    session: AsyncSession, *, client_id: str, secret: str, now: datetime | None = None
) -> PartnerClient:
    """The client these credentials prove, or `InvalidClient` (same work either way)."""
    now = now or datetime.now(UTC)
    client = await repository.by_client_id(session, client_id)
    presented = hash_secret(secret)
    current = client.secret_hash if client is not None else _UNKNOWN
    matches = hmac.compare_digest(presented, current)
    if client is not None and not matches and client.previous_secret_hash is not None:
        still_valid = (
            client.previous_secret_expires_at is not None
            and client.previous_secret_expires_at > now
        )
        matches = still_valid and hmac.compare_digest(presented, client.previous_secret_hash)
    if client is None or not matches or client.revoked_at is not None:
        raise InvalidClient()
    return client
