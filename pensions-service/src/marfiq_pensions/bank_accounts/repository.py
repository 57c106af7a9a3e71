"""Every query on bank account changes and their audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.bank_accounts.models import BankAccountAudit, BankAccountChange, ChangeStatus


async def of_affiliate(
    session: AsyncSession, affiliate_id: uuid.UUID, *, limit: int = 20
) -> list[BankAccountChange]:
    """The affiliate's latest changes, newest first."""
    result = await session.execute(
        select(BankAccountChange)
        .where(BankAccountChange.affiliate_id == affiliate_id)
        .order_by(BankAccountChange.requested_at.desc(), BankAccountChange.id)
        .limit(limit)
    )
    return list(result.scalars())


async def in_state(
    session: AsyncSession, affiliate_id: uuid.UUID, status: ChangeStatus
) -> BankAccountChange | None:
    """The pending change, or the account in force (there is at most one of each)."""
    result = await session.execute(
        select(BankAccountChange).where(
            BankAccountChange.affiliate_id == affiliate_id,
            BankAccountChange.status == status.value,
        )
    )
    return result.scalar_one_or_none()


async def get_for_update(session: AsyncSession, change_id: uuid.UUID) -> BankAccountChange | None:
    result = await session.execute(
        select(BankAccountChange).where(BankAccountChange.id == change_id).with_for_update()
    )
    return result.scalar_one_or_none()


def add(session: AsyncSession, change: BankAccountChange) -> None:
    session.add(change)


def audit(session: AsyncSession, entries: Sequence[BankAccountAudit]) -> None:
    session.add_all(entries)
