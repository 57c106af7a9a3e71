"""Every query on authoritative contacts and identity checks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.assurance.models import AuthoritativeContact, IdentityCheck


async def register_contact(
    session: AsyncSession, *, contact: str, cin: str, source: str, registered_at: datetime
) -> None:
    """Insert or move a contact to `cin`, unless a later registration is already held."""
    statement = insert(AuthoritativeContact).values(
        contact=contact, cin=cin, source=source, registered_at=registered_at
    )
    statement = statement.on_conflict_do_update(
        index_elements=[AuthoritativeContact.contact],
        set_={"cin": cin, "source": source, "registered_at": registered_at},
        where=AuthoritativeContact.registered_at <= registered_at,
    )
    await session.execute(statement)


def add_check(session: AsyncSession, check: IdentityCheck) -> None:
    session.add(check)
