"""Every query on sessions and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.models import Account
from marfiq_identity.raw import Executor, driver
from marfiq_identity.tokens.models import AuthSession, RefreshToken


def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)


async def get_session(session: AsyncSession, sid: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, sid)


async def refresh_token_for_update(session: AsyncSession, token_hash: bytes) -> RefreshToken | None:
    found: RefreshToken | None = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    )
    return found


async def session_for_update(session: AsyncSession, sid: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, sid, with_for_update=True)


async def delete_refresh_tokens(session: AsyncSession, sid: uuid.UUID) -> None:
    await session.execute(delete(RefreshToken).where(RefreshToken.session_id == sid))


async def active_sessions_of(
    session: AsyncSession, account_id: uuid.UUID, *, now: datetime
) -> Sequence[AuthSession]:
    result = await session.scalars(
        select(AuthSession)
        .where(
            AuthSession.account_id == account_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .with_for_update()
    )
    return result.all()


_INSERT_SESSION_WITH_TOKEN = """
WITH opened AS (
    INSERT INTO identity.sessions (id, account_id, acr, amr, created_at, expires_at, device)
    VALUES ($1, $2, $3, $4, $5, $6, $9)
)
INSERT INTO identity.refresh_tokens (id, session_id, token_hash, created_at, expires_at)
VALUES ($7, $1, $8, $5, $6)
"""
# The same, for an account's first session: the account is written by the same statement.
_INSERT_ACCOUNT_SESSION_WITH_TOKEN = """
WITH account AS (
    INSERT INTO identity.accounts (id, kind, phone, email, language, cin, administration_id,
        roles, created_at, updated_at, disabled_at)
    VALUES ($2, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
),
opened AS (
    INSERT INTO identity.sessions (id, account_id, acr, amr, created_at, expires_at, device)
    VALUES ($1, $2, $3, $4, $5, $6, $9)
)
INSERT INTO identity.refresh_tokens (id, session_id, token_hash, created_at, expires_at)
VALUES ($7, $1, $8, $5, $6)
"""


async def insert_session_with_token(
    session: Executor,
    *,
    auth_session: AuthSession,
    token_id: uuid.UUID,
    token_hash: bytes,
    new_account: Account | None = None,
) -> None:
    """Open a session and store its first refresh token in one round trip (sign-in hot
    path; foreign keys are checked at the end of the statement), and with them the
    session's account when it is `new_account` (its first sign-in)."""
    arguments = [
        auth_session.id,
        auth_session.account_id,
        auth_session.acr,
        auth_session.amr,
        auth_session.created_at,
        auth_session.expires_at,
        token_id,
        token_hash,
        auth_session.device,
    ]
    if new_account is None:
        await (await driver(session)).execute(_INSERT_SESSION_WITH_TOKEN, *arguments)
        return
    if new_account.id != auth_session.account_id:
        raise ValueError("the new account is not the session's")
    await (await driver(session)).execute(
        _INSERT_ACCOUNT_SESSION_WITH_TOKEN,
        *arguments,
        new_account.kind,
        new_account.phone,
        new_account.email,
        new_account.language,
        new_account.cin,
        new_account.administration_id,
        new_account.roles,
        new_account.created_at,
        new_account.updated_at,
        new_account.disabled_at,
    )


async def device_seen(
    session: Executor, *, account_id: uuid.UUID, device: str
) -> tuple[bool, bool]:
    """Whether the account ever signed in before, and ever from `device`."""
    row = await (await driver(session)).fetchrow(
        "SELECT count(*) > 0, coalesce(bool_or(device = $2), false) "
        "FROM identity.sessions WHERE account_id = $1",
        account_id,
        device,
    )
    return bool(row[0]), bool(row[1])
