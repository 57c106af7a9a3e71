"""Queries on the accounts of agents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.models import Account, AccountKind


async def of_administration(
    session: AsyncSession, administration_id: uuid.UUID
) -> Sequence[Account]:
    result = await session.scalars(
        select(Account)
        .where(
            Account.administration_id == administration_id,
            Account.kind == AccountKind.agent.value,
        )
        .order_by(Account.created_at, Account.id)
    )
    return result.all()


async def supervisors_of(session: AsyncSession, administration_id: uuid.UUID) -> Sequence[Account]:
    """The administration's supervisors who can still sign in."""
    result = await session.scalars(
        select(Account)
        .where(
            Account.administration_id == administration_id,
            Account.kind == AccountKind.agent.value,
            literal("supervisor") == any_(Account.roles),
            Account.disabled_at.is_(None),
        )
        .order_by(Account.created_at, Account.id)
    )
    return result.all()
