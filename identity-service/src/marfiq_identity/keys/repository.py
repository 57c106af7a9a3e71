"""Every query on the signing-key table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.keys.models import SigningKey

# One number for the advisory lock that serialises key creation across replicas.
_KEY_LOCK = "marfiq.identity.signing_keys"


async def lock_key_set(session: AsyncSession) -> None:
    """Hold, until the transaction ends, the right to create or retire keys."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": _KEY_LOCK}
    )


async def published_keys(session: AsyncSession, *, since: datetime) -> Sequence[SigningKey]:
    """Keys still signing, about to sign, or whose tokens may still be alive after `since`."""
    result = await session.scalars(
        select(SigningKey)
        .where(SigningKey.retire_after > since)
        .order_by(SigningKey.not_before.desc(), SigningKey.kid)
    )
    return result.all()


async def get_key(session: AsyncSession, kid: str) -> SigningKey | None:
    return await session.get(SigningKey, kid)


def add_key(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)


async def retire_keys(
    session: AsyncSession, *, origin: str, at: datetime, keep: str | None = None
) -> None:
    """Stop every key of `origin` (but `keep`) from signing after `at`."""
    statement = (
        update(SigningKey)
        .where(SigningKey.origin == origin, SigningKey.retire_after > at)
        .values(retire_after=at, not_before=func.least(SigningKey.not_before, at))
    )
    if keep is not None:
        statement = statement.where(SigningKey.kid != keep)
    await session.execute(statement)
