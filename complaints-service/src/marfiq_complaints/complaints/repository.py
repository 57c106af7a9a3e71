"""Every query on complaints, their timeline and their redirections."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints.access import Viewer
from marfiq_complaints.complaints.models import Complaint, Redirection, TimelineRecord
from marfiq_complaints.db import AnyRow, administrations
from marfiq_shared.db import DriverTransaction


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


# Statements of the filing path are built once, with bind parameters: building and
# hashing a statement per request costs more CPU than running it.
_NAMES = select(administrations.c.id, administrations.c.name_ar, administrations.c.name_fr).where(
    administrations.c.id == bindparam("id")
)
_ACTIVE_NAMES = _NAMES.where(administrations.c.active.is_(True))
_INSERT_TIMELINE = insert(cast(Table, TimelineRecord.__table__))

# Filing is the hot path (hundreds a second at peak): one round trip instead of five.
# The administration is checked, the complaint and its first timeline entry written, the
# month's "received" counter of the statistics raised and the `submitted` event put in the
# outbox (written only when the complaint is), all in one statement. The counter
# row is shared by every filing with that administration that month, so its lock is taken
# by the last statement before the outbox rows and the commit.
_FILE = text(
    """
    WITH target AS (
        SELECT id, name_ar, name_fr FROM complaints.administrations
        WHERE id = CAST(:administration_id AS uuid) AND active
    ), filed AS (
        INSERT INTO complaints.complaints (
            id, tracking_number, kind, status, owner_sub, administration_id, subject,
            description, urgent, created_at, received_at, updated_at, due_ack_at,
            due_answer_at, version)
        SELECT CAST(:id AS uuid), CAST(:tracking_number AS varchar), CAST(:kind AS varchar),
               CAST(:status AS varchar), CAST(:owner_sub AS varchar), target.id,
               CAST(:subject AS varchar), CAST(:description AS text), CAST(:urgent AS boolean),
               CAST(:now AS timestamptz), CAST(:now AS timestamptz), CAST(:now AS timestamptz),
               CAST(:due_ack_at AS timestamptz), CAST(:due_answer_at AS timestamptz), 1
        FROM target
        ON CONFLICT (tracking_number) DO NOTHING
        RETURNING id, administration_id
    ), noted AS (
        INSERT INTO complaints.timeline
            (complaint_id, at, action, actor_role, actor_id, from_state, to_state, details)
        SELECT id, CAST(:now AS timestamptz), 'submit', 'citizen', CAST(:owner_sub AS varchar),
               NULL, CAST(:status AS varchar), CAST(:details AS jsonb)
        FROM filed
    ), counted AS (
        INSERT INTO complaints.stats_monthly AS s (administration_id, month, received)
        SELECT administration_id, CAST(:month AS date), 1 FROM filed
        ON CONFLICT (administration_id, month) DO UPDATE SET received = s.received + 1
    ), evented AS (
        INSERT INTO complaints.outbox (id, type, subject, payload, created_at)
        SELECT CAST(:event_id AS uuid), CAST(:event_type AS varchar),
               CAST(:event_subject AS varchar), CAST(:event_payload AS bytea),
               CAST(:event_created_at AS timestamptz)
        FROM filed
    )
    SELECT name_ar, name_fr, (SELECT count(*) FROM filed) AS filed FROM target
    """
)


async def administration_names(
    session: AsyncSession, administration_id: uuid.UUID, *, active_only: bool = False
) -> Any:
    """Names of an administration of the local directory (an active one with
    `active_only`), or None."""
    statement = _ACTIVE_NAMES if active_only else _NAMES
    return (await session.execute(statement, {"id": administration_id})).mappings().first()


# Sent straight to asyncpg (see marfiq_shared.db.Database.driver_transaction): the same
# statement with $n placeholders, and the names of its parameters in their order.
_FILE_COMPILED = _FILE.compile(dialect=asyncpg_dialect())
_FILE_SQL, _FILE_PARAMETERS = _FILE_COMPILED.string, tuple(_FILE_COMPILED.positiontup or ())


async def file(transaction: DriverTransaction, values: dict[str, Any]) -> tuple[Any, bool]:
    """File a complaint with its first timeline entry and its event (`values["event_*"]`:
    the columns of its outbox row) and count it in the statistics.

    Returns the administration's names (None when it is unknown or inactive: nothing was
    written) and whether the complaint was written (False: the tracking number is taken,
    retry with another).
    """
    # One statement: atomic by itself, inside the request's transaction when one was begun
    # (Idempotency-Key), else alone without BEGIN and COMMIT. A retry after a taken tracking
    # number is allowed: the statement that found it taken wrote nothing.
    row = await transaction.only(_FILE_SQL, *(values[name] for name in _FILE_PARAMETERS))
    if row is None:
        return None, False
    transaction.wrote_events = True
    return row, bool(row["filed"])


async def add_timeline(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(_INSERT_TIMELINE, values)


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
