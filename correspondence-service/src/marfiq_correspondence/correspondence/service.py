"""Registering, listing and reading correspondence; the processing steps are in steps.py."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.correspondence import events, filing, repository
from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.correspondence.errors import (
    CorrespondenceNotFound,
    FilesUnusable,
    RecipientUnknown,
)
from marfiq_correspondence.correspondence.lifecycle import (
    Action,
    Party,
    State,
    allowed_actions,
)
from marfiq_correspondence.correspondence.models import Correspondence, TimelineRecord
from marfiq_correspondence.correspondence.schemas import (
    Answer,
    ChainLink,
    CorrespondenceCreate,
    CorrespondenceCreated,
    CorrespondenceDetail,
    CorrespondencePage,
    CorrespondenceSummary,
    DocumentRead,
    Sender,
    TimelineEntryRead,
)
from marfiq_correspondence.documents import service as registry
from marfiq_correspondence.files import repository as files
from marfiq_correspondence.registers.numbers import (
    Number,
    Register,
    register_year,
    take_number,
)
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.db import DriverTransaction
from marfiq_shared.events.catalogue import EventData
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor

# Details of timeline entries that name agents, shown to agents only.
AGENT_DETAILS = frozenset({"assignee_id", "department"})


def party_of(row: Correspondence, viewer: Viewer) -> Party | None:
    """The viewer's side: the holding administration, the sender, or a mere reader (an
    administration that forwarded it, or that sent it and is not its holder)."""
    if viewer.administration_id is not None:
        if row.administration_id == viewer.administration_id:
            return Party.HOLDER
        if row.sender_administration_id == viewer.administration_id:
            return Party.SENDER
        return None
    return Party.SENDER if row.sender_sub == viewer.sub else None


def sender_label(values: Mapping[str, Any], sender_administration: Mapping[str, Any] | None) -> str:
    """How the sender is written on receipts and answers."""
    if values["sender_kind"] == "administration" and sender_administration is not None:
        return str(sender_administration["name_fr"])
    name = values.get("sender_name") or "—"
    if values["sender_kind"] == "company":
        return f"{values['company_name']} (ICE {values['company_ice']}), représentée par {name}"
    cin = values.get("sender_cin")
    return f"{name} (CIN {cin})" if cin else name


def file_lines(stored: Sequence[Any]) -> list[dict[str, Any]]:
    return [{"name": item.filename, "sha256": item.sha256, "size": item.size} for item in stored]


async def attach_files(
    session: AsyncSession,
    *,
    viewer: Viewer,
    file_ids: Sequence[uuid.UUID],
    limit: int,
    now: datetime,
) -> Sequence[Any]:
    """Attach the caller's unattached files named by `file_ids` (in that order); 422 if
    any is not one (the transaction then rolls the others back)."""
    if len(file_ids) > limit:
        raise FilesUnusable("file_ids", f"at most {limit} files", max_files=limit)
    if not file_ids:
        return []
    found = await files.attach(
        session,
        file_ids,
        owner_sub=viewer.sub,
        administration_id=viewer.administration_id,
        at=now,
    )
    if len(found) != len(file_ids):
        missing = sorted(str(id_) for id_ in set(file_ids) - {item.id for item in found})
        raise FilesUnusable("file_ids", "unknown, not yours, or already attached", unusable=missing)
    order = {id_: position for position, id_ in enumerate(file_ids)}
    return sorted(found, key=lambda item: order[item.id])


@dataclass(frozen=True, slots=True)
class Registration:
    """The rows a registration writes: the letter, its receipt's registry entry, its
    documents, its first timeline entry, and its events with their subjects."""

    row: Correspondence
    values: dict[str, Any]
    receipt: dict[str, Any]
    documents: list[dict[str, Any]]
    timeline: dict[str, Any]
    events: list[tuple[EventData, str]]


def registration(
    *,
    values: dict[str, Any],
    recipient: Mapping[str, Any],
    sender_administration: Mapping[str, Any] | None,
    documents: Sequence[dict[str, Any]],
    receipt_files: list[dict[str, Any]],
    actor_role: str,
    number: Number,
    now: datetime,
    forwarded_from: Correspondence | None = None,
) -> Registration:
    """What registering a letter under `number` writes (`values` gets its numbers and
    state); nothing is written here."""
    content = {
        "registration_number": number.text,
        "outgoing_number": values.get("outgoing_number"),
        "registered_at": now.isoformat(),
        "sender": sender_label(values, sender_administration),
        "recipient_fr": recipient["name_fr"],
        "recipient_ar": recipient["name_ar"],
        "subject": values["subject"],
        "files": receipt_files,
        "forwarded_from": forwarded_from.registration_number if forwarded_from else None,
    }
    receipt_row = registry.receipt_entry(
        correspondence_id=values["id"],
        recipient=recipient,
        reference=number.text,
        content=content,
        now=now,
    )
    receipt_code = receipt_row["code"]
    values |= {
        "registration_number": number.text,
        "register_year": number.year,
        "register_sequence": number.sequence,
        "administration_id": recipient["id"],
        "status": State.REGISTERED.value,
        "receipt_code": receipt_code,
        "registered_at": now,
        "updated_at": now,
        "version": 1,
    }
    receipt = {
        "id": uuid.uuid4(),
        "correspondence_id": values["id"],
        "kind": "receipt",
        "file_id": None,
        "issued_code": receipt_code,
        "added_by_role": "system",
        "added_at": now,
    }
    details: dict[str, Any] = {"registration_number": number.text}
    if forwarded_from is not None:
        details["forwarded_from"] = forwarded_from.registration_number
    timeline = {
        "correspondence_id": values["id"],
        "at": now,
        "action": Action.REGISTER.value,
        "actor_role": actor_role,
        "actor_id": values["sender_sub"] if forwarded_from is None else "system",
        "from_state": None,
        "to_state": State.REGISTERED.value,
        "internal": False,
        "message": None,
        "details": details,
    }
    row = Correspondence(**values)
    extra: dict[str, Any] = {
        "subject": row.subject,
        "registered_at": now,
        "receipt_code": receipt_code,
    }
    if forwarded_from is not None:
        extra |= {
            "forwarded_from_id": forwarded_from.id,
            "forwarded_from_administration_id": forwarded_from.administration_id,
        }
    return Registration(
        row=row,
        values=values,
        receipt=receipt_row,
        documents=[*documents, receipt],
        timeline=timeline,
        events=events.step_events(
            row=row,
            action=Action.REGISTER,
            actor_role=actor_role,
            now=now,
            extra=extra,
            names=recipient,
        ),
    )


async def register(
    session: AsyncSession,
    *,
    values: dict[str, Any],
    recipient: Mapping[str, Any],
    sender_administration: Mapping[str, Any] | None,
    documents: Sequence[dict[str, Any]],
    receipt_files: list[dict[str, Any]],
    actor_role: str,
    now: datetime,
    forwarded_from: Correspondence | None = None,
) -> Correspondence:
    """Number a letter in the recipient's register (and the sender administration's
    outgoing one), store it with its documents, receipt, first timeline entry and event.

    The register rows are locked from here to the commit, so numbers are taken last but
    for the statements that need them; the outgoing number before the incoming one, always,
    so that two administrations writing to each other never wait on each other.
    """
    if sender_administration is not None and forwarded_from is None:
        outgoing = await take_number(
            session,
            administration_id=sender_administration["id"],
            administration_code=sender_administration["code"],
            register=Register.OUTGOING,
            at=now,
        )
        values["outgoing_number"] = outgoing.text
    number = await take_number(
        session,
        administration_id=recipient["id"],
        administration_code=recipient["code"],
        register=Register.INCOMING,
        at=now,
    )
    written = registration(
        values=values,
        recipient=recipient,
        sender_administration=sender_administration,
        documents=documents,
        receipt_files=receipt_files,
        actor_role=actor_role,
        number=number,
        now=now,
        forwarded_from=forwarded_from,
    )
    await repository.add_registration(
        session,
        receipt=written.receipt,
        correspondence=written.values,
        documents=written.documents,
        timeline=written.timeline,
    )
    await events.publish(session, written.events)
    return written.row


async def submit(
    session: AsyncSession,
    *,
    viewer: Viewer,
    data: CorrespondenceCreate,
    settings: CorrespondenceSettings,
    now: datetime,
) -> CorrespondenceCreated:
    """File a letter with an administration of the directory: a citizen, a company's
    representative (`company`), or an agent for their administration (outgoing mail).
    People's letters take the faster `submit_as_person` on the request's path."""
    recipient = await repository.administration(
        session, data.recipient_administration_id, active_only=True
    )
    if recipient is None:
        raise _recipient_unknown()
    sender_administration = None
    if viewer.administration_id is not None:
        if viewer.administration_id == recipient["id"]:
            raise RecipientUnknown(
                "recipient_administration_id", "an administration does not write to itself"
            )
        sender_administration = await repository.administration(session, viewer.administration_id)
        if sender_administration is None:
            raise RecipientUnknown("administration", "your administration is not in the directory")
    stored = await attach_files(
        session,
        viewer=viewer,
        file_ids=data.file_ids,
        limit=settings.files_per_correspondence,
        now=now,
    )
    values = _letter(viewer, data, administration=sender_administration is not None)
    row = await register(
        session,
        values=values,
        recipient=recipient,
        sender_administration=sender_administration,
        documents=_attachments(values["id"], stored, viewer=viewer, now=now),
        receipt_files=file_lines(stored),
        actor_role=viewer.role,
        now=now,
    )
    return _created(row)


async def submit_as_person(
    transaction: DriverTransaction,
    *,
    viewer: Viewer,
    data: CorrespondenceCreate,
    settings: CorrespondenceSettings,
    now: datetime,
) -> CorrespondenceCreated:
    """`submit` for a person (no administration of their own, one register to number
    in), on the driver: one statement reads the recipient and the files, a second one
    attaches them, takes the number and writes the registration with its events, as a
    transaction of its own (`filing` says why), and no ORM session."""
    assert viewer.administration_id is None
    if len(data.file_ids) > settings.files_per_correspondence:
        limit = settings.files_per_correspondence
        raise FilesUnusable("file_ids", f"at most {limit} files", max_files=limit)
    readied = await filing.read_registration(
        transaction,
        recipient_id=data.recipient_administration_id,
        file_ids=data.file_ids,
        owner_sub=viewer.sub,
    )
    if readied is None:
        raise _recipient_unknown()
    _refuse_unusable(data.file_ids, {item.id for item in readied.files})
    order = {id_: position for position, id_ in enumerate(data.file_ids)}
    stored = sorted(readied.files, key=lambda item: order[item.id])
    year = register_year(now)
    token = filing.number_token()
    values = _letter(viewer, data, administration=False)
    written = registration(
        values=values,
        recipient=readied.recipient,
        sender_administration=None,
        documents=_attachments(values["id"], stored, viewer=viewer, now=now),
        receipt_files=file_lines(stored),
        actor_role=viewer.role,
        number=Number(Register.INCOMING, year, 0, token),
        now=now,
    )
    taken = await filing.write_registration(
        transaction,
        recipient_id=data.recipient_administration_id,
        file_ids=data.file_ids,
        owner_sub=viewer.sub,
        year=year,
        token=token,
        letter=written.values,
        receipt=written.receipt,
        documents=written.documents,
        timeline=written.timeline,
        events=written.events,
    )
    if taken.number is None:
        # Between the two statements the recipient left the directory, or a file was
        # attached to another letter: nothing was written.
        _refuse_unusable(data.file_ids, taken.usable)
        raise _recipient_unknown()
    row = written.row
    row.registration_number = taken.number
    row.register_sequence = taken.sequence
    return _created(row)


def _refuse_unusable(requested: Sequence[uuid.UUID], usable: Collection[uuid.UUID]) -> None:
    missing = sorted(str(id_) for id_ in set(requested) - set(usable))
    if missing:
        raise FilesUnusable("file_ids", "unknown, not yours, or already attached", unusable=missing)


def _recipient_unknown() -> RecipientUnknown:
    return RecipientUnknown(
        "recipient_administration_id",
        "not an administration of the directory that receives mail",
    )


def _letter(viewer: Viewer, data: CorrespondenceCreate, *, administration: bool) -> dict[str, Any]:
    """The letter's own columns, before it is numbered."""
    if administration:
        kind = "administration"
    else:
        kind = "company" if data.company is not None else "citizen"
    return {
        "id": uuid.uuid4(),
        "case_id": uuid.uuid4(),
        "sender_kind": kind,
        "sender_sub": viewer.sub,
        "sender_name": data.sender_name,
        "sender_cin": viewer.cin if not administration else None,
        "company_ice": data.company.ice if data.company else None,
        "company_name": data.company.name if data.company else None,
        "sender_administration_id": viewer.administration_id,
        "subject": data.subject,
        "body": data.body,
    }


def _attachments(
    correspondence_id: uuid.UUID, stored: Sequence[Any], *, viewer: Viewer, now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "correspondence_id": correspondence_id,
            "kind": "attachment",
            "file_id": item.id,
            "issued_code": None,
            "added_by_role": viewer.role,
            "added_at": now,
        }
        for item in stored
    ]


def _created(row: Correspondence) -> CorrespondenceCreated:
    return CorrespondenceCreated(
        id=row.id,
        case_id=row.case_id,
        registration_number=row.registration_number,
        outgoing_number=row.outgoing_number,
        status=State(row.status),
        registered_at=row.registered_at,
        receipt_code=row.receipt_code,
        receipt_url=f"/v1/correspondence/{row.id}/receipt",
    )


def _direction(row: Any, viewer: Viewer) -> str | None:
    if viewer.administration_id is None:
        return None
    return "in" if row.administration_id == viewer.administration_id else "out"


def summary(row: Any, viewer: Viewer) -> CorrespondenceSummary:
    holder = (
        viewer.administration_id is not None and row.administration_id == viewer.administration_id
    )
    return CorrespondenceSummary(
        id=row.id,
        case_id=row.case_id,
        registration_number=row.registration_number,
        outgoing_number=row.outgoing_number,
        status=State(row.status),
        administration_id=row.administration_id,
        sender_kind=row.sender_kind,
        sender_administration_id=row.sender_administration_id,
        subject=row.subject,
        registered_at=row.registered_at,
        updated_at=row.updated_at,
        direction=_direction(row, viewer),  # type: ignore[arg-type]
        department=row.department if holder else None,
        assignee_id=row.assignee_id if holder else None,
        version=row.version,
    )


async def list_correspondence(
    session: AsyncSession,
    *,
    viewer: Viewer,
    direction: str | None,
    statuses: Sequence[State],
    limit: int,
    cursor: str | None,
) -> CorrespondencePage:
    """A page of what the caller sent (a person) or their administration's registers."""
    position = decode_cursor(cursor)
    after = None
    if position is not None:
        try:
            after = (datetime.fromisoformat(position["t"]), uuid.UUID(str(position["i"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCursor() from exc
    rows = await repository.page(
        session,
        viewer=viewer,
        direction=direction,
        statuses=[status.value for status in statuses],
        after=after,
        limit=limit + 1,
    )
    items = [summary(row, viewer) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"t": last.registered_at.isoformat(), "i": str(last.id)})
    return CorrespondencePage(items=items, next_cursor=next_cursor)


def _timeline_entry(record: TimelineRecord, *, holder: bool, agent: bool) -> TimelineEntryRead:
    details = (
        record.details
        if holder
        else {key: value for key, value in record.details.items() if key not in AGENT_DETAILS}
    )
    return TimelineEntryRead(
        at=record.at,
        action=record.action,
        actor_role=record.actor_role,
        actor_id=record.actor_id if agent else None,
        from_state=State(record.from_state) if record.from_state else None,
        to_state=State(record.to_state) if record.to_state else None,
        internal=record.internal,
        message=record.message,
        details=details,
    )


def _document(row: Any, correspondence_id: uuid.UUID) -> DocumentRead:
    issued = row.issued_code is not None
    return DocumentRead(
        id=row.id,
        kind=row.kind,
        filename=f"{row.kind}-{row.reference}.pdf" if issued else row.filename,
        content_type="application/pdf" if issued else row.content_type,
        size=row.issued_size if issued else row.file_size,
        sha256=row.issued_sha256 if issued else row.file_sha256,
        added_at=row.added_at,
        verification_code=row.issued_code,
        download_url=f"/v1/correspondence/{correspondence_id}/documents/{row.id}",
    )


async def get_detail(
    session: AsyncSession, *, viewer: Viewer, correspondence_id: uuid.UUID
) -> CorrespondenceDetail:
    """One correspondence with its timeline, documents and case chain; someone else's is
    `CorrespondenceNotFound`, exactly like one that does not exist."""
    row = await repository.get_visible(session, correspondence_id, viewer)
    if row is None:
        raise CorrespondenceNotFound()
    return await detail_of(session, row=row, viewer=viewer)


async def detail_of(
    session: AsyncSession, *, row: Correspondence, viewer: Viewer
) -> CorrespondenceDetail:
    party = party_of(row, viewer)
    holder = party is Party.HOLDER
    records = await repository.timeline(session, row.id)
    timeline = [
        _timeline_entry(record, holder=holder, agent=viewer.is_agent)
        for record in records
        if holder or not record.internal
    ]
    documents = [_document(item, row.id) for item in await repository.documents(session, row.id)]
    chain = [
        ChainLink(
            id=link.id,
            registration_number=link.registration_number,
            administration_id=link.administration_id,
            status=State(link.status),
            registered_at=link.registered_at,
            accessible=_can_open(link, viewer),
        )
        for link in await repository.case(session, row.case_id)
    ]
    answer = None
    if row.answered_at is not None and row.answer_code is not None:
        answer = Answer(
            text=row.answer_text or "",
            answered_at=row.answered_at,
            verification_code=row.answer_code,
        )
    return CorrespondenceDetail(
        **summary(row, viewer).model_dump(),
        body=row.body,
        sender=Sender(
            kind=row.sender_kind,  # type: ignore[arg-type]
            name=row.sender_name,
            cin=row.sender_cin,
            company_ice=row.company_ice,
            company_name=row.company_name,
            administration_id=row.sender_administration_id,
        ),
        forwarded_from_id=row.forwarded_from_id,
        forwarded_to_id=row.forwarded_to_id,
        answer=answer,
        rejection_reason=row.rejection_reason,
        receipt_code=row.receipt_code,
        chain=chain,
        timeline=timeline,
        documents=documents,
        allowed_actions=allowed_actions(State(row.status), party),
    )


def _can_open(link: Any, viewer: Viewer) -> bool:
    if viewer.administration_id is not None:
        return viewer.administration_id in (link.administration_id, link.sender_administration_id)
    return link.sender_administration_id is None and link.sender_sub == viewer.sub
