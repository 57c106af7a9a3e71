"""Queries on the accounts of agents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
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
