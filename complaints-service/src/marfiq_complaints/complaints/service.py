"""Filing, listing and reading complaints; the steps of their lifecycle are in steps.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.attachments import repository as attachments
from marfiq_complaints.complaints import events, repository, search, tracking
from marfiq_complaints.complaints.access import Viewer
from marfiq_complaints.complaints.errors import AdministrationUnknown, ComplaintNotFound
from marfiq_complaints.complaints.models import Complaint, TimelineRecord
from marfiq_complaints.complaints.schemas import (
    AttachmentRead,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintDetail,
    ComplaintPage,
    ComplaintRead,
    ComplaintSummary,
    RedirectionPage,
    RedirectionRead,
    TimelineEntryRead,
)
from marfiq_complaints.deadlines import end_of_day, local_day
from marfiq_complaints.lifecycle import (
    Action,
    ComplaintSnapshot,
    Kind,
    Policy,
    State,
    TimelineEntry,
    allowed_actions,
    start,
)
from marfiq_complaints.stats import service as stats
from marfiq_shared.db import DriverTransaction
from marfiq_shared.events.outbox import outbox_row
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor

TRACKING_ATTEMPTS = 5
# Details of timeline entries that name agents, shown to agents only.
AGENT_DETAILS = frozenset({"assignee_id"})


def snapshot_of(complaint: Complaint) -> ComplaintSnapshot:
    """What the lifecycle needs to know of a stored complaint."""
    return ComplaintSnapshot(
        kind=Kind(complaint.kind),
        state=State(complaint.status),
        owner_id=complaint.owner_sub,
        administration_id=str(complaint.administration_id),
        due_answer_at=complaint.due_answer_at,
        due_ack_at=complaint.due_ack_at,
        urgent=complaint.urgent,
        assignee_id=complaint.assignee_id,
        answered_at=complaint.answered_at,
        extended=complaint.extended,
        reopen_count=complaint.reopen_count,
        rating=complaint.rating,
    )


def timeline_values(complaint_id: uuid.UUID, entry: TimelineEntry) -> dict[str, Any]:
    """A timeline row from the lifecycle's entry."""
    return {
        "complaint_id": complaint_id,
        "at": entry.at,
        "action": entry.action.value,
        "actor_role": entry.actor_role.value,
        "actor_id": entry.actor_id,
        "from_state": entry.from_state.value if entry.from_state else None,
        "to_state": entry.to_state.value,
        "reason": entry.reason,
        "details": dict(entry.details),
    }


async def submit(
    transaction: DriverTransaction,
    *,
    viewer: Viewer,
    data: ComplaintCreate,
    policy: Policy,
    now: datetime,
) -> ComplaintCreated:
    """File a request with an administration of the directory; it gets its tracking number,
    its due dates, its first timeline entry, and `complaints.complaint.submitted`."""
    result = start(
        kind=data.kind,
        owner_id=viewer.sub,
        administration_id=str(data.administration_id),
        now=now,
        policy=policy,
        urgent=data.urgent,
    )
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": data.kind.value,
        "status": result.state.value,
        "owner_sub": viewer.sub,
        "administration_id": data.administration_id,
        "subject": data.subject,
        "description": data.description,
        "urgent": data.urgent,
        "now": now,
        "due_ack_at": result.snapshot.due_ack_at,
        "due_answer_at": result.snapshot.due_answer_at,
        "details": orjson.dumps(dict(result.entry.details)).decode(),
        "month": stats.cohort_month(now),
    }
    for _ in range(TRACKING_ATTEMPTS):
        values["tracking_number"] = tracking.new_tracking_number(local_day(now).year)
        filing = events.Filing(
            id=values["id"],
            tracking_number=values["tracking_number"],
            kind=values["kind"],
            status=values["status"],
            administration_id=data.administration_id,
            owner_sub=viewer.sub,
            urgent=data.urgent,
            due_ack_at=values["due_ack_at"],
            due_answer_at=values["due_answer_at"],
        )
        # Filing tells the citizen nothing more (see events.CITIZEN_TOLD): its one event
        # rides in the filing statement.
        event = events.step_event(
            filing,
            action=Action.SUBMIT,
            actor_role="citizen",
            now=now,
            extra={"subject": data.subject},
        )
        row = outbox_row(event, source=transaction.source, subject=str(filing.id))
        values |= {f"event_{column}": value for column, value in row.items()}
        names, filed = await repository.file(transaction, values)
        if names is None:
            raise AdministrationUnknown(
                "administration_id", "not an administration that receives complaints"
            )
        if filed:
            break
    else:  # 45 random bits: reaching this means the generator is broken, not bad luck
        raise RuntimeError("no free tracking number after several attempts")
    return ComplaintCreated(
        id=values["id"],
        tracking_number=values["tracking_number"],
        status=result.state,
        due_at=result.snapshot.due_answer_at,
        due_ack_at=result.snapshot.due_ack_at,
        created_at=now,
    )


def _summary_fields(row: Any, viewer: Viewer) -> dict[str, Any]:
    return {
        "id": row.id,
        "tracking_number": row.tracking_number,
        "kind": row.kind,
        "status": row.status,
        "administration_id": row.administration_id,
        "subject": row.subject,
        "urgent": row.urgent,
        "created_at": row.created_at,
        "received_at": row.received_at,
        "due_ack_at": row.due_ack_at,
        "due_answer_at": row.due_answer_at,
        "assignee_id": row.assignee_id if viewer.is_agent else None,
        "overdue": row.overdue_since is not None,
        "overdue_since": row.overdue_since,
        "version": row.version,
    }


def read_model(complaint: Complaint, *, viewer: Viewer, policy: Policy) -> ComplaintRead:
    """The complaint as this viewer sees it, with the steps they may take now."""
    actions = allowed_actions(snapshot=snapshot_of(complaint), actor=viewer.actor, policy=policy)
    return ComplaintRead(
        **_summary_fields(complaint, viewer),
        description=complaint.description,
        updated_at=complaint.updated_at,
        acknowledged_at=complaint.acknowledged_at,
        answer=complaint.answer,
        answered_at=complaint.answered_at,
        answer_count=complaint.answer_count,
        reopen_until=complaint.reopen_until,
        closed_at=complaint.closed_at,
        extended=complaint.extended,
        reopen_count=complaint.reopen_count,
        redirect_count=complaint.redirect_count,
        rating=complaint.rating,
        rating_comment=complaint.rating_comment,
        allowed_actions=list(actions),
    )


def _timeline_entry(record: TimelineRecord, viewer: Viewer) -> TimelineEntryRead:
    shown = viewer.is_agent or record.actor_role == "citizen"
    details = (
        record.details
        if viewer.is_agent
        else {key: value for key, value in record.details.items() if key not in AGENT_DETAILS}
    )
    return TimelineEntryRead(
        at=record.at,
        action=record.action,
        actor_role=record.actor_role,
        actor_id=record.actor_id if shown else None,
        from_state=State(record.from_state) if record.from_state else None,
        to_state=State(record.to_state) if record.to_state else None,
        reason=record.reason,
        message=record.message,
        details=details,
    )


async def get_complaint(
    session: AsyncSession, *, viewer: Viewer, complaint_id: uuid.UUID, policy: Policy
) -> ComplaintDetail:
    """One complaint with its timeline, attachments and redirections; someone else's is
    `ComplaintNotFound`, exactly like one that does not exist."""
    complaint = await repository.get_visible(session, complaint_id, viewer)
    if complaint is None:
        raise ComplaintNotFound()
    records = await repository.timeline(session, complaint_id)
    files = await attachments.of_complaint(session, complaint_id)
    redirections = await repository.redirections_of(session, complaint_id)
    return ComplaintDetail(
        **read_model(complaint, viewer=viewer, policy=policy).model_dump(),
        timeline=[_timeline_entry(record, viewer) for record in records],
        attachments=[AttachmentRead.model_validate(item) for item in files],
        redirections=[RedirectionRead.model_validate(item) for item in redirections],
    )


def _position(cursor: str | None, *, ascending: bool) -> tuple[datetime, uuid.UUID] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        if position["o"] != ("a" if ascending else "d"):
            raise InvalidCursor("this cursor belongs to the other order")
        return datetime.fromisoformat(position["t"]), uuid.UUID(str(position["i"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidCursor() from exc


def _day_start(day: date) -> datetime:
    # The first instant of a Casablanca day: just after the end of the day before.
    return end_of_day(day - timedelta(days=1)) + timedelta(seconds=1)


async def list_complaints(
    session: AsyncSession,
    *,
    viewer: Viewer,
    statuses: list[State],
    kinds: list[Kind],
    overdue: bool | None,
    assignee_id: str | None,
    created_from: date | None,
    created_to: date | None,
    q: str | None,
    tracking_number: str | None,
    ascending: bool,
    limit: int,
    cursor: str | None,
) -> ComplaintPage:
    """A page of the caller's complaints (citizen) or their administration's queue."""
    number = None
    if tracking_number is not None:
        number = tracking.normalise(tracking_number)
        if number is None:  # a mistyped number names no complaint
            return ComplaintPage(items=[])
    if assignee_id == "me":
        assignee_id = viewer.sub
    filters = repository.Filters(
        statuses=[status.value for status in statuses],
        kinds=[kind.value for kind in kinds],
        overdue=overdue,
        assignee_id=assignee_id,
        created_from=_day_start(created_from) if created_from else None,
        created_to=_day_start(created_to + timedelta(days=1)) if created_to else None,
        tsquery=search.to_tsquery_text(q) if q else None,
        tracking_number=number,
    )
    rows = await repository.page(
        session,
        viewer=viewer,
        filters=filters,
        after=_position(cursor, ascending=ascending),
        ascending=ascending,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            {"t": last.created_at.isoformat(), "i": str(last.id), "o": "a" if ascending else "d"}
        )
    return ComplaintPage(
        items=[ComplaintSummary(**_summary_fields(row, viewer)) for row in rows[:limit]],
        next_cursor=next_cursor,
    )


async def list_redirections(
    session: AsyncSession, *, viewer: Viewer, outgoing: bool, limit: int, cursor: str | None
) -> RedirectionPage:
    """What an administration sent on to others (or received from them): the link each
    side keeps, without access to the complaint once it left."""
    assert viewer.administration_id is not None
    after = None
    position = decode_cursor(cursor)
    if position is not None:
        try:
            after = (datetime.fromisoformat(position["t"]), int(position["i"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCursor() from exc
    rows = await repository.redirections_page(
        session,
        administration_id=viewer.administration_id,
        outgoing=outgoing,
        after=after,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"t": last.at.isoformat(), "i": last.id})
    return RedirectionPage(
        items=[RedirectionRead.model_validate(row) for row in rows[:limit]],
        next_cursor=next_cursor,
    )
