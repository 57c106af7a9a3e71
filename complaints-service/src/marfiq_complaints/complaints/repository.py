"""Every query on complaints, their timeline and their redirections."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints.access import Viewer
from marfiq_complaints.complaints.models import Complaint, Redirection, TimelineRecord
from marfiq_complaints.db import AnyRow, administrations


@dataclass(frozen=True, slots=True)
class Filters:
    statuses: Sequence[str] = ()
    kinds: Sequence[str] = ()
    overdue: bool | None = None
    assignee_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    tsquery: str | None = None
    tracking_number: str | None = None


SUMMARY_COLUMNS = (
    Complaint.id,
    Complaint.tracking_number,
    Complaint.kind,
    Complaint.status,
    Complaint.administration_id,
    Complaint.subject,
    Complaint.urgent,
    Complaint.created_at,
    Complaint.received_at,
    Complaint.due_ack_at,
    Complaint.due_answer_at,
    Complaint.assignee_id,
    Complaint.overdue_since,
    Complaint.version,
)


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The one rule of who sees a complaint: its owner, or the administration holding it."""
    if viewer.administration_id is not None:
        return Complaint.administration_id == viewer.administration_id
    return Complaint.owner_sub == viewer.sub


async def get_visible(
    session: AsyncSession, complaint_id: uuid.UUID, viewer: Viewer, *, for_update: bool = False
) -> Complaint | None:
    """The complaint if `viewer` may see it; locked for the transaction with `for_update`.

    Locking serialises concurrent steps on one complaint: the second waits, then sees the
    state the first left and is judged against it (a repeated step becomes illegal).
    """
    statement = select(Complaint).where(Complaint.id == complaint_id, visible_to(viewer))
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def administration_names(
    session: AsyncSession, administration_id: uuid.UUID, *, active_only: bool = False
) -> Any:
    """Names of an administration of the local directory (an active one with
    `active_only`), or None."""
    table = administrations
    statement = select(table.c.id, table.c.name_ar, table.c.name_fr).where(
        table.c.id == administration_id
    )
    if active_only:
        statement = statement.where(table.c.active.is_(True))
    return (await session.execute(statement)).mappings().first()


async def insert_unless_number_taken(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a complaint; False when its tracking number is already taken (retry another)."""
    statement = (
        insert(Complaint)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Complaint.tracking_number])
        .returning(Complaint.id)
    )
    return (await session.execute(statement)).first() is not None


async def add_timeline(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(TimelineRecord).values(**values))


async def timeline(session: AsyncSession, complaint_id: uuid.UUID) -> Sequence[TimelineRecord]:
    statement = (
        select(TimelineRecord)
        .where(TimelineRecord.complaint_id == complaint_id)
        .order_by(TimelineRecord.id)
    )
    return (await session.scalars(statement)).all()


async def add_redirection(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(Redirection).values(**values))


async def redirections_of(session: AsyncSession, complaint_id: uuid.UUID) -> Sequence[Redirection]:
    statement = (
        select(Redirection).where(Redirection.complaint_id == complaint_id).order_by(Redirection.id)
    )
    return (await session.scalars(statement)).all()


async def redirections_page(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    outgoing: bool,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Sequence[Redirection]:
    """Redirections from (or to) one administration, newest first."""
    side = Redirection.from_administration_id if outgoing else Redirection.to_administration_id
    statement = select(Redirection).where(side == administration_id)
    if after is not None:
        statement = statement.where(tuple_(Redirection.at, Redirection.id) < after)
    statement = statement.order_by(Redirection.at.desc(), Redirection.id.desc()).limit(limit)
    return (await session.scalars(statement)).all()


async def page(
    session: AsyncSession,
    *,
    viewer: Viewer,
    filters: Filters,
    after: tuple[datetime, uuid.UUID] | None,
    ascending: bool,
    limit: int,
) -> Sequence[AnyRow]:
    """One page of what `viewer` sees, in (created_at, id) order: a keyset, so every page
    costs the same at any depth, served by the queue indexes."""
    conditions: list[ColumnElement[bool]] = [visible_to(viewer)]
    if filters.statuses:
        conditions.append(Complaint.status.in_(filters.statuses))
    if filters.kinds:
        conditions.append(Complaint.kind.in_(filters.kinds))
    if filters.overdue is True:
        conditions.append(Complaint.overdue_since.is_not(None))
    elif filters.overdue is False:
        conditions.append(Complaint.overdue_since.is_(None))
    if filters.assignee_id is not None:
        conditions.append(Complaint.assignee_id == filters.assignee_id)
    if filters.created_from is not None:
        conditions.append(Complaint.created_at >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(Complaint.created_at < filters.created_to)
    if filters.tsquery is not None:
        conditions.append(
            Complaint.search_vector.op("@@")(func.to_tsquery("simple", filters.tsquery))
        )
    if filters.tracking_number is not None:
        conditions.append(Complaint.tracking_number == filters.tracking_number)
    key = tuple_(Complaint.created_at, Complaint.id)
    if after is not None:
        conditions.append(key > after if ascending else key < after)
    order = (
        (Complaint.created_at.asc(), Complaint.id.asc())
        if ascending
        else (Complaint.created_at.desc(), Complaint.id.desc())
    )
    statement = select(*SUMMARY_COLUMNS).where(and_(*conditions)).order_by(*order).limit(limit)
    return (await session.execute(statement)).all()
