"""The local replica of the administrations directory, kept from identity's events.

Complaints, correspondence and pensions each hold one in their own schema (no service reads
another's tables) and validate `administration_id` against it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from marfiq_shared.events.catalogue import EventData
    from marfiq_shared.events.consumer import Handler
    from marfiq_shared.events.envelope import CloudEvent


def administrations_replica_table(metadata: MetaData) -> Table:
    """The replica table, in the consuming service's schema."""
    return Table(
        "administrations",
        metadata,
        Column("id", PgUUID(as_uuid=True), primary_key=True),
        Column("code", String(32), nullable=False),
        Column("name_ar", String(300), nullable=False),
        Column("name_fr", String(300), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("parent_id", PgUUID(as_uuid=True), nullable=True),
        Column("active", Boolean, nullable=False),
        Column("version", Integer, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


def replica_subscriptions(table: Table) -> dict[str, Handler]:
    """Handlers for `identity.administration.created` / `.updated` writing into `table`."""

    async def apply(session: AsyncSession, event: CloudEvent, data: EventData) -> None:
        values = data.model_dump(include={"id", "code", "name_ar", "name_fr", "kind"})
        values |= {
            "parent_id": getattr(data, "parent_id", None),
            "active": getattr(data, "active", True),
            "version": getattr(data, "version", 1),
            "updated_at": getattr(data, "occurred_at", event.time),
        }
        statement = insert(table).values(**values)
        # Deliveries may arrive out of order: only a newer version replaces the row.
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={name: statement.excluded[name] for name in values if name != "id"},
                where=table.c.version < statement.excluded.version,
            )
        )

    return {
        "identity.administration.created": apply,
        "identity.administration.updated": apply,
    }


async def active_administration(session: AsyncSession, table: Table, id_: UUID) -> bool:
    """Whether `id_` names an active administration in the local replica."""
    found = await session.scalar(select(table.c.active).where(table.c.id == id_))
    return bool(found)


async def replica_row(session: AsyncSession, table: Table, id_: UUID) -> dict[str, object] | None:
    row = (await session.execute(select(table).where(table.c.id == id_))).mappings().first()
    return dict(row) if row else None


__all__ = [
    "active_administration",
    "administrations_replica_table",
    "replica_row",
    "replica_subscriptions",
]
