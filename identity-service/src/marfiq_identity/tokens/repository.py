"""Every query on sessions and refresh tokens."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.tokens.models import AuthSession, RefreshToken


def add_session(session: AsyncSession, auth_session: AuthSession) -> None:
    session.add(auth_session)


def add_refresh_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)


async def get_session(session: AsyncSession, sid: uuid.UUID) -> AuthSession | None:
    return await session.get(AuthSession, sid)
