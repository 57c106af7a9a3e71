"""Every query on partner clients."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.clients.models import PartnerClient


def add(session: AsyncSession, client: PartnerClient) -> None:
    session.add(client)


async def by_client_id(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> PartnerClient | None:
    statement = select(PartnerClient).where(PartnerClient.client_id == client_id)
    if for_update:
        statement = statement.with_for_update()
    found: PartnerClient | None = await session.scalar(statement)
    return found


async def of_administration(
    session: AsyncSession, administration_id: uuid.UUID
) -> Sequence[PartnerClient]:
    result = await session.scalars(
        select(PartnerClient)
        .where(PartnerClient.administration_id == administration_id)
        .order_by(PartnerClient.created_at, PartnerClient.id)
    )
    return result.all()
