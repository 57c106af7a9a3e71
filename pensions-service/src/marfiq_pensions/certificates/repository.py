"""Every query on certificates."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from marfiq_pensions.certificates.models import Certificate


def add(session: AsyncSession, certificate: Certificate) -> None:
    session.add(certificate)


async def of_affiliate(session: AsyncSession, affiliate_id: uuid.UUID) -> list[Certificate]:
    """The affiliate's certificates, newest first, without their PDF."""
    result = await session.execute(
        select(Certificate)
        .options(defer(Certificate.pdf, raiseload=True))
        .where(Certificate.affiliate_id == affiliate_id)
        .order_by(Certificate.issued_at.desc())
        .limit(100)
    )
    return list(result.scalars())


async def get(session: AsyncSession, code: str) -> Certificate | None:
    return await session.get(Certificate, code)
