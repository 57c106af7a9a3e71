"""Minting access tokens, opening sessions and issuing refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import repository as accounts
from marfiq_identity.accounts.models import Account
from marfiq_identity.keys.crypto import sign_jws
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.raw import Executor
from marfiq_identity.settings import MAX_ACCESS_TOKEN_TTL_S, IdentitySettings
from marfiq_identity.tokens import repository
from marfiq_identity.tokens.errors import GrantRevoked, InvalidGrant, InvalidScope
from marfiq_identity.tokens.models import AuthSession, RefreshToken
from marfiq_identity.tokens.schemas import TokenResponse
from marfiq_shared.auth import ACCESS_TOKEN_TYP, Acr, Principal
from marfiq_shared.events.catalogue import SessionRevoked
from marfiq_shared.events.outbox import add_event

# Recognisable in logs and secret scanners; the 256 random bits follow it.
REFRESH_TOKEN_PREFIX = "mrt_"


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str
    jti: str
    kid: str
    expires_in: int
    expires_at: datetime


def mint_access_token(
    *,
    keyring: KeyRing,
    issuer: str,
    audience: str,
    subject: str,
    roles: Iterable[str],
    acr: Acr,
    amr: Sequence[str],
    ttl_s: int,
    sid: uuid.UUID | str | None = None,
    adm: uuid.UUID | None = None,
    scope: Iterable[str] | None = None,
    cin: str | None = None,
    now: datetime | None = None,
) -> MintedToken:
    """Sign an ES256 access token (`typ: at+jwt`) with the key that signs now."""
    now = now or datetime.now(UTC)
    ttl = min(ttl_s, MAX_ACCESS_TOKEN_TTL_S)
    issued_at = int(now.timestamp())
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "jti": jti,
        "acr": acr,
        "amr": list(amr),
        "roles": sorted(set(roles)),
    }
    if sid is not None:
        claims["sid"] = str(sid)
    if adm is not None:
        claims["adm"] = str(adm)
    if scope is not None:
        claims["scope"] = " ".join(sorted(set(scope)))
    if cin is not None:
        claims["cin"] = cin
    key = keyring.signing_key(now)
    token = sign_jws(claims, key=key.private_key, kid=key.kid, typ=ACCESS_TOKEN_TYP)
    return MintedToken(
        token=token,
        jti=jti,
        kid=key.kid,
        expires_in=ttl,
        expires_at=datetime.fromtimestamp(issued_at + ttl, UTC),
    )


def hash_refresh_token(token: str) -> bytes:
    """What is stored and looked up: a plain SHA-256 suffices for 256 random bits."""
    return hashlib.sha256(token.encode()).digest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_refresh_token(session: AsyncSession, *, auth_session: AuthSession, now: datetime) -> str:
    """Store a new refresh token of `auth_session` (hashed) and return its only clear copy."""
    token = new_refresh_token()
    repository.add_refresh_token(
        session,
        RefreshToken(
            id=uuid.uuid4(),
            session_id=auth_session.id,
            token_hash=hash_refresh_token(token),
            created_at=now,
            expires_at=auth_session.expires_at,
            used_at=None,
        ),
    )
    return token


def access_token_for(
    account: Account,
    *,
    auth_session: AuthSession,
    keyring: KeyRing,
    settings: IdentitySettings,
    now: datetime,
) -> MintedToken:
    """An access token carrying what the account is and how this session signed in."""
    return mint_access_token(
        keyring=keyring,
        issuer=settings.marfiq_issuer,
        audience=settings.marfiq_audience,
        subject=str(account.id),
        roles=account.roles,
        acr=auth_session.acr,  # type: ignore[arg-type]
        amr=auth_session.amr,
        ttl_s=settings.access_token_ttl_s,
        sid=auth_session.id,
        adm=account.administration_id,
        cin=account.cin,
        now=now,
    )


async def start_session(
    session: Executor,
    *,
    account: Account,
    acr: Acr,
    amr: Sequence[str],
    keyring: KeyRing,
    settings: IdentitySettings,
    now: datetime | None = None,
    device: str | None = None,
    new_account: bool = False,
) -> TokenResponse:
    """Open a session for a signed-in account and issue its first tokens; a `new_account`
    (built, not written yet) is stored with the session, in the same statement."""
    now = now or datetime.now(UTC)
    auth_session = AuthSession(
        id=uuid.uuid4(),
        account_id=account.id,
        acr=acr,
        amr=list(amr),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
        revoked_at=None,
        revoked_reason=None,
        device=device,
    )
    refresh_token = new_refresh_token()
    await repository.insert_session_with_token(
        session,
        auth_session=auth_session,
        token_id=uuid.uuid4(),
        token_hash=hash_refresh_token(refresh_token),
        new_account=account if new_account else None,
    )
    access = access_token_for(
        account, auth_session=auth_session, keyring=keyring, settings=settings, now=now
    )
    return TokenResponse(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        acr=acr,
    )


async def session_is_active(
    session: AsyncSession, *, sid: str | None, now: datetime | None = None
) -> bool:
    """Whether the session a token names still stands (not revoked, not expired)."""
    if sid is None:
        return True  # machine tokens have no session
    try:
        key = uuid.UUID(sid)
    except ValueError:
        return False
    found = await repository.get_session(session, key)
    now = now or datetime.now(UTC)
    return found is not None and found.revoked_at is None and found.expires_at > now


# The gateway and services accept a token this long past its `exp` (verifier leeway); a
# revocation must be remembered at least that much longer.
_VERIFIER_LEEWAY = timedelta(seconds=60)


async def revoke_session(
    session: AsyncSession,
    *,
    auth_session: AuthSession,
    reason: str,
    settings: IdentitySettings,
    now: datetime,
) -> None:
    """End a session: its refresh tokens are deleted and `identity.session.revoked` tells
    every gateway to refuse its access tokens until the last one has expired."""
    if auth_session.revoked_at is None:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason
    await repository.delete_refresh_tokens(session, auth_session.id)
    expires_at = min(
        auth_session.expires_at,
        now + timedelta(seconds=MAX_ACCESS_TOKEN_TTL_S) + _VERIFIER_LEEWAY,
    )
    await add_event(
        session,
        SessionRevoked(sid=str(auth_session.id), expires_at=expires_at, reason=reason),
        subject=str(auth_session.id),
    )


async def revoke_sessions_of(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    reason: str,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> int:
    """Revoke every live session of an account; how many there were."""
    now = now or datetime.now(UTC)
    sessions = await repository.active_sessions_of(session, account_id, now=now)
    for auth_session in sessions:
        await revoke_session(
            session, auth_session=auth_session, reason=reason, settings=settings, now=now
        )
    return len(sessions)


async def refresh(
    session: AsyncSession,
    *,
    refresh_token: str,
    keyring: KeyRing,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> TokenResponse:
    """Exchange a refresh token for new tokens; the old one is spent.

    Presenting a spent token again means two parties hold it: the whole session is
    revoked (the refusal commits) and both have to sign in again.
    """
    now = now or datetime.now(UTC)
    stored = await repository.refresh_token_for_update(session, hash_refresh_token(refresh_token))
    if stored is None:
        raise InvalidGrant()
    auth_session = await repository.session_for_update(session, stored.session_id)
    if auth_session is None or auth_session.revoked_at is not None:
        raise InvalidGrant()
    if stored.used_at is not None:
        await revoke_session(
            session,
            auth_session=auth_session,
            reason="refresh_token_reuse",
            settings=settings,
            now=now,
        )
        raise GrantRevoked("refresh token reused; the session is revoked")
    if stored.expires_at <= now or auth_session.expires_at <= now:
        raise InvalidGrant()
    account = await accounts.get(session, auth_session.account_id)
    if account is None or account.disabled_at is not None:
        await revoke_session(
            session,
            auth_session=auth_session,
            reason="account_disabled",
            settings=settings,
            now=now,
        )
        raise GrantRevoked("account disabled")
    stored.used_at = now
    new_token = issue_refresh_token(session, auth_session=auth_session, now=now)
    access = access_token_for(
        account, auth_session=auth_session, keyring=keyring, settings=settings, now=now
    )
    return TokenResponse(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=new_token,
        acr=auth_session.acr,  # type: ignore[arg-type]
    )


async def logout(
    session: AsyncSession,
    *,
    principal: Principal,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> None:
    """Revoke the caller's session (a machine token has none: nothing to do)."""
    if principal.sid is None:
        return
    try:
        sid = uuid.UUID(principal.sid)
    except ValueError:
        return
    auth_session = await repository.session_for_update(session, sid)
    if auth_session is None or str(auth_session.account_id) != principal.sub:
        return
    if auth_session.revoked_at is not None:
        return  # already out: logging out twice is not an error
    await revoke_session(
        session,
        auth_session=auth_session,
        reason="logout",
        settings=settings,
        now=now or datetime.now(UTC),
    )


def client_token(
    *,
    client_id: str,
    administration_id: uuid.UUID,
    granted: Sequence[str],
    requested: str | None,
    keyring: KeyRing,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> TokenResponse:
    """An access token for a partner client: `scope` (all it was granted, or the part it
    asked for) and `adm`; no session, no refresh token (RFC 6749 §4.4.3)."""
    scopes = set(granted)
    if requested is not None:
        asked = set(requested.split())
        if not asked or not asked <= scopes:
            raise InvalidScope()
        scopes = asked
    access = mint_access_token(
        keyring=keyring,
        issuer=settings.marfiq_issuer,
        audience=settings.marfiq_audience,
        subject=client_id,
        roles=["client"],
        acr="low",
        amr=["client_secret"],
        ttl_s=settings.access_token_ttl_s,
        adm=administration_id,
        scope=scopes,
        now=now,
    )
    return TokenResponse(access_token=access.token, expires_in=access.expires_in, acr="low")
