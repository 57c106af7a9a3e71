"""Every query on correspondence, its documents and its timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.correspondence.models import (
    CaseDocument,
    Correspondence,
    TimelineRecord,
)
from marfiq_correspondence.db import administrations
from marfiq_correspondence.documents.models import IssuedDocument
from marfiq_correspondence.files.models import StoredFile
from marfiq_shared.db import Database


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """The one rule of who sees a registration: the person who sent it; the administration
    whose register holds it (also after forwarding it: it keeps what it held); the
    administration that sent it."""
    if viewer.administration_id is not None:
        return _visible_to_administration(viewer.administration_id)
    return _visible_to_person(viewer.sub)


def _visible_to_administration(administration_id: Any) -> ColumnElement[bool]:
    return or_(
        Correspondence.administration_id == administration_id,
        Correspondence.sender_administration_id == administration_id,
    )


def _visible_to_person(sub: Any) -> ColumnElement[bool]:
    return and_(
        Correspondence.sender_sub == sub,
        Correspondence.sender_administration_id.is_(None),
    )


def _driver_sql(statement: Any) -> tuple[str, tuple[str, ...]]:
    """`statement` for asyncpg itself: its $n text and the names of its parameters."""
    compiled = statement.compile(dialect=asyncpg_dialect())
    return compiled.string, tuple(compiled.positiontup or ())


# A receipt's GET is the hot read of filing (every sender fetches theirs): one statement
# on the driver, no ORM session, for each of the two shapes of the visibility rule.
_RECEIPT_COLUMNS = (
    Correspondence.registration_number,
    IssuedDocument.code,
    IssuedDocument.kind,
    IssuedDocument.reference,
    IssuedDocument.content,
    IssuedDocument.storage_key,
    IssuedDocument.size,
    IssuedDocument.sha256,
)
_RECEIPT_SQL = {
    agent: _driver_sql(
        select(*_RECEIPT_COLUMNS)
        .join(IssuedDocument, IssuedDocument.code == Correspondence.receipt_code)
        .where(
            Correspondence.id == bindparam("id"),
            _visible_to_administration(bindparam("administration_id"))
            if agent
            else _visible_to_person(bindparam("sub")),
        )
    )
    for agent in (True, False)
}


async def visible_receipt(database: Database, correspondence_id: uuid.UUID, viewer: Viewer) -> Any:
    """The registry entry of the receipt of a correspondence `viewer` may see (with its
    registration number), or None."""
    sql, names = _RECEIPT_SQL[viewer.administration_id is not None]
    values = {
        "id": correspondence_id,
        "administration_id": viewer.administration_id,
        "sub": viewer.sub,
    }
    async with database.driver_transaction() as transaction:
        return await transaction.only(sql, *(values[n] for n in names))


async def get_visible(
    session: AsyncSession, correspondence_id: uuid.UUID, viewer: Viewer, *, for_update: bool = False
) -> Correspondence | None:
    """The correspondence if `viewer` may see it; locked for the transaction with
    `for_update` (concurrent steps on one letter then run one after the other)."""
    statement = select(Correspondence).where(
        Correspondence.id == correspondence_id, visible_to(viewer)
    )
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def administration(
    session: AsyncSession, administration_id: uuid.UUID, *, active_only: bool = False
) -> Any:
    """Code and names of an administration of the local directory, or None."""
    table = administrations
    statement = select(table.c.id, table.c.code, table.c.name_ar, table.c.name_fr).where(
        table.c.id == administration_id
    )
    if active_only:
        statement = statement.where(table.c.active.is_(True))
    return (await session.execute(statement)).mappings().first()


async def add(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(Correspondence).values(**values))


async def add_registration(
    session: AsyncSession,
    *,
    receipt: dict[str, Any],
    correspondence: dict[str, Any],
    documents: Sequence[dict[str, Any]],
    timeline: dict[str, Any],
) -> None:
    """A registration's rows in one statement: its receipt in the document registry, the
    letter, its documents and its first timeline entry. One round trip instead of five
    while the register's counter row is locked (every filing to that administration
    waits for it); foreign keys are checked at the end of the statement, so the order of
    the inserts does not matter to them."""
    statement = (
        insert(Correspondence)
        .values(**correspondence)
        .add_cte(insert(IssuedDocument).values(**receipt).cte("receipt"))
        .add_cte(insert(TimelineRecord).values(**timeline).cte("first_step"))
    )
    if documents:
        statement = statement.add_cte(insert(CaseDocument).values(list(documents)).cte("papers"))
    await session.execute(statement)


async def update_fields(
    session: AsyncSession, correspondence: Correspondence, values: dict[str, Any]
) -> None:
    """Write `values` and bump the version (the row is locked by the caller)."""
    for key, value in (values | {"version": correspondence.version + 1}).items():
        setattr(correspondence, key, value)
    await session.flush()


async def add_documents(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(CaseDocument), list(rows))


async def add_timeline(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(TimelineRecord).values(**values))


async def timeline(session: AsyncSession, correspondence_id: uuid.UUID) -> Sequence[TimelineRecord]:
    statement = (
        select(TimelineRecord)
        .where(TimelineRecord.correspondence_id == correspondence_id)
        .order_by(TimelineRecord.id)
    )
    return (await session.scalars(statement)).all()


async def documents(session: AsyncSession, correspondence_id: uuid.UUID) -> Sequence[Any]:
    """Documents of a correspondence with what describes them (file or issued document)."""
    statement = (
        select(
            CaseDocument.id,
            CaseDocument.kind,
            CaseDocument.added_at,
            CaseDocument.file_id,
            CaseDocument.issued_code,
            StoredFile.filename,
            StoredFile.content_type,
            StoredFile.size.label("file_size"),
            StoredFile.sha256.label("file_sha256"),
            StoredFile.storage_key.label("file_key"),
            IssuedDocument.reference,
            IssuedDocument.size.label("issued_size"),
            IssuedDocument.sha256.label("issued_sha256"),
            IssuedDocument.storage_key.label("issued_key"),
        )
        .select_from(CaseDocument)
        .outerjoin(StoredFile, StoredFile.id == CaseDocument.file_id)
        .outerjoin(IssuedDocument, IssuedDocument.code == CaseDocument.issued_code)
        .where(CaseDocument.correspondence_id == correspondence_id)
        .order_by(CaseDocument.seq)
    )
    return (await session.execute(statement)).all()


async def file_links(session: AsyncSession, correspondence_id: uuid.UUID) -> Sequence[Any]:
    """The sender's files of a correspondence (what a forward carries over)."""
    statement = (
        select(CaseDocument.kind, CaseDocument.file_id, CaseDocument.added_by_role)
        .where(
            CaseDocument.correspondence_id == correspondence_id,
            CaseDocument.kind.in_(("attachment", "supplement")),
        )
        .order_by(CaseDocument.seq)
    )
    return (await session.execute(statement)).all()


async def case(session: AsyncSession, case_id: uuid.UUID) -> Sequence[Any]:
    """Every registration of one letter, in the order they were made."""
    statement = (
        select(
            Correspondence.id,
            Correspondence.registration_number,
            Correspondence.administration_id,
            Correspondence.sender_administration_id,
            Correspondence.sender_sub,
            Correspondence.status,
            Correspondence.registered_at,
        )
        .where(Correspondence.case_id == case_id)
        .order_by(Correspondence.registered_at, Correspondence.id)
    )
    return (await session.execute(statement)).all()


SUMMARY_COLUMNS = (
    Correspondence.id,
    Correspondence.case_id,
    Correspondence.registration_number,
    Correspondence.outgoing_number,
    Correspondence.status,
    Correspondence.administration_id,
    Correspondence.sender_kind,
    Correspondence.sender_administration_id,
    Correspondence.subject,
    Correspondence.registered_at,
    Correspondence.updated_at,
    Correspondence.department,
    Correspondence.assignee_id,
    Correspondence.version,
)


async def page(
    session: AsyncSession,
    *,
    viewer: Viewer,
    direction: str | None,
    statuses: Sequence[str],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[Any]:
    """One page of what `viewer` sees, newest first, by (registered_at, id): a keyset
    served by the inbox, outbox and sender indexes."""
    if viewer.administration_id is not None and direction == "in":
        condition: ColumnElement[bool] = (
            Correspondence.administration_id == viewer.administration_id
        )
    elif viewer.administration_id is not None and direction == "out":
        condition = Correspondence.sender_administration_id == viewer.administration_id
    else:
        condition = visible_to(viewer)
    conditions = [condition]
    if statuses:
        conditions.append(Correspondence.status.in_(statuses))
    if after is not None:
        conditions.append(tuple_(Correspondence.registered_at, Correspondence.id) < after)
    statement = (
        select(*SUMMARY_COLUMNS)
        .where(and_(*conditions))
        .order_by(Correspondence.registered_at.desc(), Correspondence.id.desc())
        .limit(limit)
    )
    return (await session.execute(statement)).all()
