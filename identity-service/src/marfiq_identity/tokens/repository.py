"""Every query on sessions and refresh tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.tokens.models import AuthSession, RefreshToken


def add_session(session: AsyncSession, auth_session: AuthSession) -> None:
    session.add(auth_session)


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
