"""The steps of a complaint's life: acknowledge, assign, answer, redirect, reject, extend,
reopen, close, rate. The lifecycle table judges each one; this stores what it decided."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints import events, repository
from marfiq_complaints.complaints.access import Viewer
from marfiq_complaints.complaints.errors import (
    AdministrationUnknown,
    ComplaintNotFound,
    VersionMismatch,
)
from marfiq_complaints.complaints.models import Complaint
from marfiq_complaints.complaints.schemas import ComplaintRead
from marfiq_complaints.complaints.service import read_model, snapshot_of, timeline_values
from marfiq_complaints.deadlines import reopen_window_end
from marfiq_complaints.lifecycle import (
    RUNNING_CLOCKS,
    Action,
    Actor,
    Clock,
    Kind,
    Payload,
    Policy,
    State,
    TransitionResult,
    apply,
)
from marfiq_complaints.stats import service as stats


async def take_step(
    session: AsyncSession,
    *,
    viewer: Viewer,
    complaint_id: uuid.UUID,
    action: Action,
    payload: Payload,
    policy: Policy,
    now: datetime,
    message: str | None = None,
    expected_version: int | None = None,
) -> ComplaintRead:
    """Take one step on a complaint the viewer can see, or raise the lifecycle's error.

    The row is locked first, so two steps at once are judged one after the other: the
    second sees the state the first left (a second "acknowledge" is a 409, not a double).
    """
    complaint = await repository.get_visible(session, complaint_id, viewer, for_update=True)
    if complaint is None:
        raise ComplaintNotFound()
    if expected_version is not None and expected_version != complaint.version:
        raise VersionMismatch(current_version=complaint.version)
    await step(
        session,
        complaint=complaint,
        action=action,
        actor=viewer.actor,
        payload=payload,
        policy=policy,
        now=now,
        message=message,
    )
    return read_model(complaint, viewer=viewer, policy=policy)


async def step(
    session: AsyncSession,
    *,
    complaint: Complaint,
    action: Action,
    actor: Actor,
    payload: Payload,
    policy: Policy,
    now: datetime,
    message: str | None = None,
) -> None:
    """Apply a step to a complaint locked by the caller: state, counters, timeline, events."""
    result = apply(
        snapshot=snapshot_of(complaint),
        action=action,
        actor=actor,
        now=now,
        policy=policy,
        payload=payload,
    )
    names = None
    if action is Action.REDIRECT:
        target = uuid.UUID(result.snapshot.administration_id)
        names = await repository.administration_names(session, target, active_only=True)
        if names is None:
            raise AdministrationUnknown(
                "target_administration_id", "not an administration that receives complaints"
            )
    if names is None and action in events.CITIZEN_TOLD:
        names = await repository.administration_names(session, complaint.administration_id)
    extra = await _store(
        session, complaint, result, action=action, now=now, policy=policy, message=message
    )
    await repository.add_timeline(
        session, timeline_values(complaint.id, result.entry) | {"message": message}
    )
    await events.publish_step(
        session,
        complaint=complaint,
        action=action,
        actor_role=result.entry.actor_role.value,
        now=now,
        extra=extra,
        administration_names=names,
        reason=result.entry.reason,
    )


async def _store(
    session: AsyncSession,
    complaint: Complaint,
    result: TransitionResult,
    *,
    action: Action,
    now: datetime,
    policy: Policy,
    message: str | None,
) -> dict[str, Any]:
    """Write the new state on the row, count it, and return the event's own fields."""
    after = result.snapshot
    before_administration, before_received = complaint.administration_id, complaint.received_at
    before_due_ack, before_due_answer = complaint.due_ack_at, complaint.due_answer_at
    before_assignee = complaint.assignee_id
    reason = result.entry.reason
    complaint.status = after.state.value
    complaint.administration_id = uuid.UUID(after.administration_id)
    complaint.assignee_id = after.assignee_id
    complaint.due_ack_at = after.due_ack_at
    complaint.due_answer_at = after.due_answer_at
    complaint.answered_at = after.answered_at
    complaint.extended = after.extended
    complaint.reopen_count = after.reopen_count
    complaint.rating = after.rating
    complaint.version += 1
    complaint.updated_at = now
    extra: dict[str, Any] = {}
    match action:
        case Action.ACKNOWLEDGE:
            complaint.acknowledged_at = now
        case Action.ANSWER:
            on_time = now <= before_due_answer
            complaint.answer = message
            complaint.answer_count += 1
            complaint.reopen_until = reopen_window_end(
                kind=Kind(complaint.kind), answered_at=now, rules=policy.rules,
                calendar=policy.calendar,
            )  # fmt: skip
            if complaint.first_answered_at is None:
                complaint.first_answered_at = now
                await stats.count_first_answer(
                    session,
                    administration_id=complaint.administration_id,
                    received_at=complaint.received_at,
                    answered_at=now,
                    on_time=on_time,
                )
            extra = {"answered_at": now, "on_time": on_time, "answer_count": complaint.answer_count}
        case Action.REDIRECT:
            complaint.received_at = now
            complaint.redirect_count += 1
            await repository.add_redirection(
                session,
                {
                    "complaint_id": complaint.id,
                    "tracking_number": complaint.tracking_number,
                    "from_administration_id": before_administration,
                    "to_administration_id": complaint.administration_id,
                    "at": now,
                    "actor_id": result.entry.actor_id,
                    "reason": reason,
                },
            )
            await stats.count(
                session,
                administration_id=before_administration,
                received_at=before_received,
                redirected_out=1,
            )
            await stats.count_received(
                session, administration_id=complaint.administration_id, received_at=now
            )
            extra = {"from_administration_id": before_administration, "reason": reason}
        case Action.REJECT:
            complaint.closed_at = now
            await stats.count(
                session,
                administration_id=complaint.administration_id,
                received_at=complaint.received_at,
                rejected=1,
            )
            extra = {"reason": reason}
        case Action.EXTEND:
            extra = {"reason": reason, "previous_due_answer_at": before_due_answer}
        case Action.REOPEN:
            complaint.reopen_until = None
            extra = {"reason": reason, "reopen_count": complaint.reopen_count}
        case Action.RATE:
            assert complaint.rating is not None
            comment = result.entry.details.get("comment")
            complaint.rating_comment = str(comment) if comment else None
            complaint.rated_at = now
            await stats.count(
                session,
                administration_id=complaint.administration_id,
                received_at=complaint.received_at,
                ratings=1,
                rating_total=complaint.rating,
            )
            extra = {"rating": complaint.rating, "comment": complaint.rating_comment}
    if after.state is State.CLOSED and complaint.closed_at is None:
        complaint.closed_at = now
    _reset_clocks(
        complaint,
        ack_changed=complaint.due_ack_at != before_due_ack,
        answer_changed=complaint.due_answer_at != before_due_answer,
        assignee_changed=complaint.assignee_id != before_assignee,
    )
    await session.flush()
    return extra


def _reset_clocks(
    complaint: Complaint, *, ack_changed: bool, answer_changed: bool, assignee_changed: bool
) -> None:
    """Keep the scheduler's marks true to the new state.

    A due date that moved may be missed again (and reported again); a new assignee gets
    their own reminder; the complaint is overdue only while a reported due date belongs
    to a clock that still runs in its state; a new overdue spell gets a new escalation.
    """
    if ack_changed:
        complaint.ack_overdue_at = None
    if answer_changed:
        complaint.answer_overdue_at = None
    if answer_changed or assignee_changed:
        complaint.reminded_at = None
    running = RUNNING_CLOCKS[State(complaint.status)]
    marks = [
        mark
        for clock, mark in (
            (Clock.ACKNOWLEDGE, complaint.ack_overdue_at),
            (Clock.ANSWER, complaint.answer_overdue_at),
        )
        if clock in running and mark is not None
    ]
    since = min(marks) if marks else None
    if since != complaint.overdue_since:
        complaint.escalated_at = None
    complaint.overdue_since = since
