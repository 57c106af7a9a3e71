"""The key set: which key signs now, which keys verifiers must know, and rotation.

Each replica keeps the set in memory (signing needs no database round trip) and reloads it
every `signing_key_check_interval_s`; the reload also creates the next key when one is due.
A new key is published `signing_key_publish_ahead_s` before it signs; a retired key stays
published until every token it signed has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.keys import repository
from marfiq_identity.keys.crypto import (
    ALGORITHM,
    KeyCipher,
    KeyMaterialError,
    generate_private_key,
    load_private_key_pem,
    public_jwk,
    published_jwk,
    thumbprint,
)
from marfiq_identity.keys.models import SigningKey
from marfiq_identity.settings import MAX_ACCESS_TOKEN_TTL_S, IdentitySettings
from marfiq_shared.auth import JwksFetcher
from marfiq_shared.db import Database

log = logging.getLogger("marfiq.identity.keys")

# After a key stops signing, its last tokens live up to the maximum lifetime; the margin
# covers replicas that still sign with it until their next reload, and clock skew.
RETIRED_KEY_GRACE = timedelta(seconds=MAX_ACCESS_TOKEN_TTL_S + 300)
# Configured keys sign until the operator replaces the PEM.
_CONFIGURED_KEY_LIFETIME = timedelta(days=36_500)
_NEVER = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
# Used only when no secret is configured in the embedded (development) mode.
_DEVELOPMENT_SECRET = "marfiq-development-only-key-encryption-secret"


@dataclass(frozen=True, slots=True)
class LoadedKey:
    """A key able to sign: its id, its private half and its signing window."""

    kid: str
    private_key: ec.EllipticCurvePrivateKey
    not_before: datetime
    retire_after: datetime


def key_cipher(settings: IdentitySettings) -> KeyCipher:
    """The cipher for keys at rest; a missing secret is an error outside the embedded mode."""
    if settings.key_encryption_secret is not None:
        return KeyCipher(settings.key_encryption_secret.get_secret_value())
    if settings.amqp_url is not None:
        # A broker URL means the distributed deployment: never store keys under a known secret.
        raise KeyMaterialError(
            "IDENTITY_KEY_ENCRYPTION_SECRET (or IDENTITY_SIGNING_KEY_PEM) is required"
        )
    log.warning(
        "IDENTITY_KEY_ENCRYPTION_SECRET is not set: signing keys are stored under the "
        "development secret; set it for any deployment that holds real data"
    )
    return KeyCipher(_DEVELOPMENT_SECRET)


def _new_key_row(
    key: ec.EllipticCurvePrivateKey,
    *,
    origin: str,
    sealed: bytes | None,
    kid: str,
    now: datetime,
    not_before: datetime,
    retire_after: datetime,
) -> SigningKey:
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        origin=origin,
        public_jwk=public_jwk(key),
        private_key=sealed,
        created_at=now,
        not_before=not_before,
        retire_after=retire_after,
    )


async def create_generated_key(
    session: AsyncSession,
    *,
    cipher: KeyCipher,
    now: datetime,
    not_before: datetime,
    lifetime: timedelta,
) -> SigningKey:
    """Generate a key, store it encrypted, and let it sign from `not_before`."""
    key = generate_private_key()
    kid = thumbprint(public_jwk(key))
    row = _new_key_row(
        key,
        origin="generated",
        sealed=cipher.seal(key, kid=kid),
        kid=kid,
        now=now,
        not_before=not_before,
        retire_after=not_before + lifetime,
    )
    repository.add_key(session, row)
    await session.flush()
    log.info("signing key created", extra={"kid": kid, "not_before": not_before.isoformat()})
    return row


async def ensure_generated_keys(
    session: AsyncSession, *, settings: IdentitySettings, cipher: KeyCipher, now: datetime
) -> None:
    """Make sure a generated key signs now and, near its end, that its successor is published."""
    lifetime = timedelta(seconds=settings.signing_key_lifetime_s)
    ahead = timedelta(seconds=settings.signing_key_publish_ahead_s)
    rows = await repository.published_keys(session, since=now)
    generated = [row for row in rows if row.origin == "generated"]
    current = _signing_row(generated, now)
    if current is None:
        current = await create_generated_key(
            session, cipher=cipher, now=now, not_before=now, lifetime=lifetime
        )
    has_successor = any(row.not_before > now for row in generated)
    if not has_successor and current.retire_after - now < 2 * ahead:
        await create_generated_key(
            session,
            cipher=cipher,
            now=now,
            not_before=current.retire_after,
            lifetime=lifetime,
        )


async def ensure_configured_key(
    session: AsyncSession, *, key: ec.EllipticCurvePrivateKey, now: datetime
) -> str:
    """Register the configured key's public half so it is published; return its `kid`."""
    kid = thumbprint(public_jwk(key))
    existing = await repository.get_key(session, kid)
    if existing is None:
        row = _new_key_row(
            key,
            origin="configured",
            sealed=None,
            kid=kid,
            now=now,
            not_before=now,
            retire_after=now + _CONFIGURED_KEY_LIFETIME,
        )
        repository.add_key(session, row)
        await session.flush()
        # A new PEM replaces earlier ones. Only the newcomer retires the others, so a replica
        # still running with the old PEM during a rolling deploy does not retire the new one.
        await repository.retire_keys(session, origin="configured", at=now, keep=kid)
        log.info("configured signing key registered", extra={"kid": kid})
    return kid


async def rotate_signing_keys(
    session: AsyncSession,
    *,
    settings: IdentitySettings,
    cipher: KeyCipher,
    now: datetime | None = None,
    revoke_previous: bool = False,
) -> str:
    """Start signing with a new key now; return its `kid`.

    Earlier keys stop signing but stay published until their tokens expired, unless
    `revoke_previous` (a compromised key): then they vanish from the JWKS at once.
    """
    now = now or datetime.now(UTC)
    await repository.lock_key_set(session)
    retire_at = now - RETIRED_KEY_GRACE - timedelta(seconds=1) if revoke_previous else now
    await repository.retire_keys(session, origin="generated", at=retire_at)
    row = await create_generated_key(
        session,
        cipher=cipher,
        now=now,
        not_before=now,
        lifetime=timedelta(seconds=settings.signing_key_lifetime_s),
    )
    return row.kid


def _signing_row(rows: Sequence[SigningKey], now: datetime) -> SigningKey | None:
    live = [row for row in rows if row.not_before <= now < row.retire_after]
    return max(live, key=lambda row: row.not_before, default=None)


class KeyRing:
    """The in-memory key set of one replica: signs without I/O, serves the JWKS."""

    def __init__(self, settings: IdentitySettings) -> None:
        self._settings = settings
        self._cipher: KeyCipher | None = None
        self._configured: ec.EllipticCurvePrivateKey | None = None
        self._configured_key: LoadedKey | None = None
        self._private: dict[str, LoadedKey] = {}
        self._jwks: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def loaded(self) -> bool:
        return self._jwks is not None

    async def refresh(self, database: Database, *, now: datetime | None = None) -> None:
        """Create keys that are due, then reload the set from the database."""
        now = now or datetime.now(UTC)
        if self._configured is None and self._settings.signing_key_pem is not None:
            self._configured = load_private_key_pem(
                self._settings.signing_key_pem.get_secret_value()
            )
        async with database.sessionmaker() as session, session.begin():
            await repository.lock_key_set(session)
            if self._configured is not None:
                kid = await ensure_configured_key(session, key=self._configured, now=now)
                self._configured_key = LoadedKey(kid, self._configured, _NEVER[0], _NEVER[1])
            else:
                if self._cipher is None:
                    self._cipher = key_cipher(self._settings)
                await ensure_generated_keys(
                    session, settings=self._settings, cipher=self._cipher, now=now
                )
            rows = await repository.published_keys(session, since=now - RETIRED_KEY_GRACE)
        self._load(rows, now)

    def _load(self, rows: Sequence[SigningKey], now: datetime) -> None:
        private: dict[str, LoadedKey] = {}
        for row in rows:
            # A retired key never signs again: leave it sealed, only publish it.
            if row.retire_after <= now or row.private_key is None:
                continue
            known = self._private.get(row.kid)
            if known is None:
                if self._cipher is None:
                    self._cipher = key_cipher(self._settings)
                key = self._cipher.open(row.private_key, kid=row.kid)
            else:
                key = known.private_key
            private[row.kid] = LoadedKey(row.kid, key, row.not_before, row.retire_after)
        self._private = private
        self._jwks = {"keys": [published_jwk(row.public_jwk, row.kid) for row in rows]}

    def signing_key(self, now: datetime | None = None) -> LoadedKey:
        """The key that signs now."""
        if self._configured_key is not None:
            return self._configured_key  # the operator's key signs while it is configured
        now = now or datetime.now(UTC)
        keys = list(self._private.values())
        live = [key for key in keys if key.not_before <= now < key.retire_after]
        # Past its window (the database was unreachable at rotation time) the newest key
        # keeps signing rather than failing every sign-in; it is still published.
        candidates = live or [key for key in keys if key.not_before <= now]
        if not candidates:
            raise KeyMaterialError("no signing key is loaded")
        return max(candidates, key=lambda key: key.not_before)

    def jwks(self) -> dict[str, Any]:
        """The JWKS document (public keys only)."""
        if self._jwks is None:
            raise KeyMaterialError("the key set is not loaded yet")
        return self._jwks

    async def jwks_document(self) -> dict[str, Any]:
        """A `JwksFetcher`: the embedded launcher hands it to other services (no HTTP hop)."""
        return self.jwks()

    def start(self, database: Database) -> None:
        """Reload (and rotate when due) in the background until `stop`."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(self._settings.signing_key_check_interval_s)
                try:
                    await self.refresh(database)
                except Exception:
                    log.exception("signing key refresh failed; keeping the loaded set")

        self._task = asyncio.create_task(loop(), name="identity-signing-keys")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def local_jwks_fetcher(app: FastAPI) -> JwksFetcher:
    """The identity app's JWKS as a `JwksFetcher`, for the embedded launcher (no HTTP).

    Usable before the app has started: until its lifespan loaded the keys the fetch fails,
    and verifiers retry after their refetch interval.
    """
    keyring: KeyRing = app.state.keyring
    return keyring.jwks_document


async def rotate_keys(settings: IdentitySettings, *, revoke_previous: bool = False) -> str:
    """Operator entry point: rotate now in the database of `settings`; return the new `kid`.

    Running replicas start signing with it at their next reload (`signing_key_check_interval_s`).
    """
    from marfiq_identity.db import SCHEMA

    database = Database(settings.database_url, schema=SCHEMA, source="identity-keys", pool_size=1)
    try:
        async with database.sessionmaker() as session, session.begin():
            return await rotate_signing_keys(
                session,
                settings=settings,
                cipher=key_cipher(settings),
                revoke_previous=revoke_previous,
            )
    finally:
        await database.dispose()
