"""The processing steps: assign, ask for documents (and add them), forward, answer, reject,
close, and internal notes. Each locks the correspondence, checks the step against the
lifecycle, writes it, its timeline entry and its event in the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.correspondence import events, repository
from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.correspondence.errors import (
    CorrespondenceNotFound,
    RecipientUnknown,
    StepNotAllowed,
)
from marfiq_correspondence.correspondence.lifecycle import (
    TRANSITIONS,
    Action,
    IllegalStep,
    State,
    next_state,
)
from marfiq_correspondence.correspondence.models import Correspondence
from marfiq_correspondence.correspondence.service import (
    attach_files,
    file_lines,
    party_of,
    register,
    sender_label,
)
from marfiq_correspondence.documents import service as registry
from marfiq_correspondence.documents.models import IssuedDocument
from marfiq_correspondence.files import repository as files
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.documents import PlatformPki
from marfiq_shared.storage import Storage


async def _locked(
    session: AsyncSession, *, viewer: Viewer, correspondence_id: uuid.UUID, action: Action
) -> tuple[Correspondence, State]:
    """The correspondence, locked, and the state `action` leads to; 404 when the caller
    cannot see it, 409 when the step is not theirs or not legal now."""
    row = await repository.get_visible(session, correspondence_id, viewer, for_update=True)
    if row is None:
        raise CorrespondenceNotFound()
    who, _, _ = TRANSITIONS[action]
    state = State(row.status)
    if party_of(row, viewer) is not who:
        raise StepNotAllowed(
            f"{action} is not yours to take", action=action.value, current_status=state.value
        )
    try:
        target = next_state(
            action, state, assigned=row.assignee_id is not None or row.department is not None
        )
    except IllegalStep as exc:
        raise StepNotAllowed(str(exc), action=action.value, current_status=state.value) from exc
    return row, target


async def _record(
    session: AsyncSession,
    *,
    row: Correspondence,
    viewer: Viewer,
    action: Action,
    before: State,
    now: datetime,
    message: str | None = None,
    internal: bool = False,
    details: dict[str, Any] | None = None,
) -> None:
    await repository.add_timeline(
        session,
        {
            "correspondence_id": row.id,
            "at": now,
            "action": action.value,
            "actor_role": viewer.role,
            "actor_id": viewer.sub,
            "from_state": before.value,
            "to_state": row.status,
            "internal": internal,
            "message": message,
            "details": details or {},
        },
    )


async def assign(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    department: str,
    assignee_id: str | None,
    now: datetime,
) -> Correspondence:
    """Route to a department and, optionally, an agent (again, to hand it over)."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.ASSIGN
    )
    before = State(row.status)
    await repository.update_fields(
        session,
        row,
        {
            "status": target.value,
            "department": department,
            "assignee_id": assignee_id,
            "updated_at": now,
        },
    )
    details = {"department": department, "assignee_id": assignee_id}
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.ASSIGN,
        before=before,
        now=now,
        details=details,
    )
    await events.publish_step(
        session, row=row, action=Action.ASSIGN, actor_role=viewer.role, now=now, extra=details
    )
    if assignee_id:
        await events.notify(
            session,
            recipient=assignee_id,
            kind="correspondence.assigned",
            params={"registration_number": row.registration_number, "subject": row.subject},
        )
    return row


async def request_documents(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    message: str,
    now: datetime,
) -> Correspondence:
    """Ask the sender for missing documents; they are told, and may add them."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.REQUEST_DOCUMENTS
    )
    before = State(row.status)
    await repository.update_fields(session, row, {"status": target.value, "updated_at": now})
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.REQUEST_DOCUMENTS,
        before=before,
        now=now,
        message=message,
    )
    await events.publish_step(
        session,
        row=row,
        action=Action.REQUEST_DOCUMENTS,
        actor_role=viewer.role,
        now=now,
        extra={"message": message},
    )
    return row


async def add_documents(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    file_ids: list[uuid.UUID],
    message: str,
    settings: CorrespondenceSettings,
    now: datetime,
) -> Correspondence:
    """The sender adds the documents asked for; processing resumes where it was."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.ADD_DOCUMENTS
    )
    present = len(await repository.file_links(session, row.id))
    stored = await attach_files(
        session,
        viewer=viewer,
        file_ids=file_ids,
        limit=settings.files_per_correspondence - present,
        now=now,
    )
    await repository.add_documents(
        session,
        [
            {
                "id": uuid.uuid4(),
                "correspondence_id": row.id,
                "kind": "supplement",
                "file_id": item.id,
                "issued_code": None,
                "added_by_role": viewer.role,
                "added_at": now,
            }
            for item in stored
        ],
    )
    before = State(row.status)
    await repository.update_fields(session, row, {"status": target.value, "updated_at": now})
    details = {"files": [{"file_id": str(item.id), "sha256": item.sha256} for item in stored]}
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.ADD_DOCUMENTS,
        before=before,
        now=now,
        message=message or None,
        details=details,
    )
    await events.publish_step(
        session,
        row=row,
        action=Action.ADD_DOCUMENTS,
        actor_role=viewer.role,
        now=now,
        extra={"count": len(stored)},
    )
    return row


async def forward(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    to_administration_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> Correspondence:
    """Send it on to the competent administration, where it is registered again with its
    own number and receipt. Both registrations stay linked in one case; this
    administration keeps read access to its own registration."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.FORWARD
    )
    if to_administration_id in (row.administration_id, row.sender_administration_id):
        raise RecipientUnknown("administration_id", "forward to another administration")
    recipient = await repository.administration(session, to_administration_id, active_only=True)
    if recipient is None:
        raise RecipientUnknown(
            "administration_id", "not an administration of the directory that receives mail"
        )
    sender_administration = None
    if row.sender_administration_id is not None:
        sender_administration = await repository.administration(
            session, row.sender_administration_id
        )
    links = await repository.file_links(session, row.id)
    carried = await files.by_ids(session, [link.file_id for link in links])
    new_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": new_id,
        "case_id": row.case_id,
        "sender_kind": row.sender_kind,
        "sender_sub": row.sender_sub,
        "sender_name": row.sender_name,
        "sender_cin": row.sender_cin,
        "company_ice": row.company_ice,
        "company_name": row.company_name,
        "sender_administration_id": row.sender_administration_id,
        "outgoing_number": None,
        "subject": row.subject,
        "body": row.body,
        "forwarded_from_id": row.id,
    }
    documents = [
        {
            "id": uuid.uuid4(),
            "correspondence_id": new_id,
            "kind": link.kind,
            "file_id": link.file_id,
            "issued_code": None,
            "added_by_role": link.added_by_role,
            "added_at": now,
        }
        for link in links
    ]
    before = State(row.status)
    # The sending side first (its row is already locked), then the new registration.
    await repository.update_fields(
        session, row, {"status": target.value, "updated_at": now, "forwarded_to_id": new_id}
    )
    created = await register(
        session,
        values=values,
        recipient=recipient,
        sender_administration=sender_administration,
        documents=documents,
        receipt_files=file_lines(carried),
        actor_role="system",
        now=now,
        forwarded_from=row,
    )
    details = {
        "to_administration_id": str(to_administration_id),
        "to_correspondence_id": str(new_id),
        "to_registration_number": created.registration_number,
    }
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.FORWARD,
        before=before,
        now=now,
        message=reason,
        details=details,
    )
    await events.publish_step(
        session,
        row=row,
        action=Action.FORWARD,
        actor_role=viewer.role,
        now=now,
        extra={
            "to_administration_id": to_administration_id,
            "to_correspondence_id": new_id,
            "to_registration_number": created.registration_number,
            "reason": reason,
        },
        names=recipient,
    )
    return row


async def answer(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    text: str,
    file_ids: list[uuid.UUID],
    settings: CorrespondenceSettings,
    storage: Storage,
    pki: PlatformPki,
    now: datetime,
) -> tuple[Correspondence, IssuedDocument]:
    """Answer with a text and documents; the answer PDF is signed in the administration's
    name with its own certificate. The caller removes the stored PDF if the transaction
    does not commit."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.ANSWER
    )
    administration = await repository.administration(session, row.administration_id)
    stored = await attach_files(
        session,
        viewer=viewer,
        file_ids=file_ids,
        limit=settings.files_per_correspondence,
        now=now,
    )
    sender_administration = None
    if row.sender_administration_id is not None:
        sender_administration = await repository.administration(
            session, row.sender_administration_id
        )
    content = {
        "registration_number": row.registration_number,
        "registered_at": row.registered_at.isoformat(),
        "answered_at": now.isoformat(),
        "sender": sender_label(
            {
                "sender_kind": row.sender_kind,
                "sender_name": row.sender_name,
                "sender_cin": row.sender_cin,
                "company_ice": row.company_ice,
                "company_name": row.company_name,
            },
            sender_administration,
        ),
        "subject": row.subject,
        "text": text,
        "files": file_lines(stored),
    }
    issued = await registry.issue_answer(
        session,
        storage=storage,
        pki=pki,
        settings=settings,
        correspondence_id=row.id,
        administration=administration,
        reference=row.registration_number,
        content=content,
        now=now,
    )
    documents = [
        {
            "id": uuid.uuid4(),
            "correspondence_id": row.id,
            "kind": "answer",
            "file_id": None,
            "issued_code": issued.code,
            "added_by_role": viewer.role,
            "added_at": now,
        }
    ] + [
        {
            "id": uuid.uuid4(),
            "correspondence_id": row.id,
            "kind": "answer_attachment",
            "file_id": item.id,
            "issued_code": None,
            "added_by_role": viewer.role,
            "added_at": now,
        }
        for item in stored
    ]
    await repository.add_documents(session, documents)
    before = State(row.status)
    await repository.update_fields(
        session,
        row,
        {
            "status": target.value,
            "answer_text": text,
            "answer_code": issued.code,
            "answered_at": now,
            "updated_at": now,
        },
    )
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.ANSWER,
        before=before,
        now=now,
        message=text,
        details={"verification_code": issued.code},
    )
    await events.publish_step(
        session,
        row=row,
        action=Action.ANSWER,
        actor_role=viewer.role,
        now=now,
        extra={"answer_code": issued.code, "answer_sha256": issued.sha256},
        names=administration,
    )
    return row, issued


async def reject(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    reason: str,
    now: datetime,
) -> Correspondence:
    """Refuse it, with the reason the sender is given."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.REJECT
    )
    before = State(row.status)
    await repository.update_fields(
        session, row, {"status": target.value, "updated_at": now, "rejection_reason": reason}
    )
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.REJECT,
        before=before,
        now=now,
        message=reason,
    )
    await events.publish_step(
        session,
        row=row,
        action=Action.REJECT,
        actor_role=viewer.role,
        now=now,
        extra={"reason": reason},
    )
    return row


async def close(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    note: str,
    now: datetime,
) -> Correspondence:
    """Close an answered or rejected correspondence."""
    row, target = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.CLOSE
    )
    before = State(row.status)
    await repository.update_fields(
        session, row, {"status": target.value, "updated_at": now, "closed_at": now}
    )
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.CLOSE,
        before=before,
        now=now,
        message=note or None,
    )
    await events.publish_step(
        session, row=row, action=Action.CLOSE, actor_role=viewer.role, now=now
    )
    return row


async def note(
    session: AsyncSession,
    *,
    viewer: Viewer,
    correspondence_id: uuid.UUID,
    text: str,
    now: datetime,
) -> Correspondence:
    """An internal note of the holding administration: never shown to the sender."""
    row, _ = await _locked(
        session, viewer=viewer, correspondence_id=correspondence_id, action=Action.NOTE
    )
    state = State(row.status)
    await _record(
        session,
        row=row,
        viewer=viewer,
        action=Action.NOTE,
        before=state,
        now=now,
        message=text,
        internal=True,
    )
    return row
