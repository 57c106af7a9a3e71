"""The events a complaint's steps publish, and the notifications they ask identity for.

Domain events (`complaints.complaint.*`) are for partners and any consumer keeping a copy;
people are told through `identity.notification.requested`, which identity delivers on the
person's own channels and in their language.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints.models import Complaint
from marfiq_complaints.db import AnyRow
from marfiq_complaints.deadlines import local_day
from marfiq_complaints.lifecycle import Action, State
from marfiq_shared.events.catalogue import (
    ComplaintAcknowledged,
    ComplaintAnswered,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintEvent,
    ComplaintExtended,
    ComplaintOverdue,
    ComplaintRated,
    ComplaintRedirected,
    ComplaintRejected,
    ComplaintReminderDue,
    ComplaintReopened,
    ComplaintSubmitted,
    NotificationRequested,
)
from marfiq_shared.events.outbox import add_event

STEP_EVENTS: Mapping[Action, type[ComplaintEvent]] = {
    Action.SUBMIT: ComplaintSubmitted,
    Action.ACKNOWLEDGE: ComplaintAcknowledged,
    Action.ASSIGN: ComplaintAssigned,
    Action.ANSWER: ComplaintAnswered,
    Action.REDIRECT: ComplaintRedirected,
    Action.REJECT: ComplaintRejected,
    Action.EXTEND: ComplaintExtended,
    Action.REOPEN: ComplaintReopened,
    Action.CLOSE: ComplaintClosed,
    Action.RATE: ComplaintRated,
}
CLOCK_EVENTS: Mapping[str, type[ComplaintEvent]] = {
    "overdue": ComplaintOverdue,
    "reminder_due": ComplaintReminderDue,
    "escalated": ComplaintEscalated,
}

# Steps the citizen is told about; the rest they did themselves or are internal. Filing is
# not among them: the app shows the tracking number in the answer to the filing itself, and
# the administration's acknowledgement is the receipt that matters (sending one more
# message per filing would cost the busiest path a second outbox row and a notification).
CITIZEN_TOLD = frozenset(
    {
        Action.ACKNOWLEDGE,
        Action.ANSWER,
        Action.REDIRECT,
        Action.REJECT,
        Action.EXTEND,
        Action.CLOSE,
    }
)
STATUS_CHANGED = "complaints.status_changed"

STATUS_LABELS: Mapping[State, dict[str, str]] = {
    State.SUBMITTED: {"ar": "مسجلة", "fr": "enregistrée", "en": "filed"},
    State.ACKNOWLEDGED: {
        "ar": "تم الإشعار بالتوصل",
        "fr": "accusée de réception",
        "en": "acknowledged",
    },
    State.ASSIGNED: {"ar": "قيد المعالجة", "fr": "en cours de traitement", "en": "being handled"},
    State.ANSWERED: {"ar": "تمت الإجابة", "fr": "répondue", "en": "answered"},
    State.CLOSED: {"ar": "مغلقة", "fr": "clôturée", "en": "closed"},
    State.REDIRECTED: {
        "ar": "أحيلت على الإدارة المختصة",
        "fr": "réorientée vers l'administration compétente",
        "en": "sent to the competent administration",
    },
    State.REJECTED: {"ar": "غير مقبولة", "fr": "irrecevable", "en": "inadmissible"},
    State.EXTENDED: {
        "ar": "تم تمديد أجل الرد",
        "fr": "délai de réponse prorogé",
        "en": "answer period extended",
    },
    State.REOPENED: {"ar": "أعيد فتحها", "fr": "rouverte", "en": "reopened"},
}


@dataclass(frozen=True, slots=True)
class Filing:
    """A complaint being filed, as its event tells it: the filing writes it by one statement,
    so no ORM object exists (building one cost about as much as the event itself)."""

    id: uuid.UUID
    tracking_number: str
    kind: str
    status: str
    administration_id: uuid.UUID
    owner_sub: str
    urgent: bool
    due_ack_at: datetime | None
    due_answer_at: datetime
    assignee_id: str | None = None
    version: int = 1


# A stored complaint, a row the scheduler's statements return with the same columns, or a
# complaint being filed.
Facts = Complaint | AnyRow | Filing


def _base(complaint: Facts, *, now: datetime, actor_role: str) -> dict[str, Any]:
    return {
        "complaint_id": complaint.id,
        "tracking_number": complaint.tracking_number,
        "kind": complaint.kind,
        "status": complaint.status,
        "administration_id": complaint.administration_id,
        "citizen_sub": complaint.owner_sub,
        "assignee_id": complaint.assignee_id,
        "urgent": complaint.urgent,
        "due_ack_at": complaint.due_ack_at,
        "due_answer_at": complaint.due_answer_at,
        "version": complaint.version,
        "occurred_at": now,
        "actor_role": actor_role,
    }


def step_event(
    complaint: Facts,
    *,
    action: Action,
    actor_role: str,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> ComplaintEvent:
    """The domain event of a step (its data)."""
    return STEP_EVENTS[action](**_base(complaint, now=now, actor_role=actor_role), **(extra or {}))


async def publish_step(
    session: AsyncSession,
    *,
    complaint: Complaint,
    action: Action,
    actor_role: str,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    administration_names: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> None:
    """The step's domain event, and the notifications it calls for, in the transaction."""
    data = step_event(complaint, action=action, actor_role=actor_role, now=now, extra=extra)
    subject = str(complaint.id)
    await add_event(session, data, subject=subject)
    if action is Action.RATE and complaint.status == State.CLOSED:
        closed = ComplaintClosed(**_base(complaint, now=now, actor_role=actor_role))
        await add_event(session, closed, subject=subject)
    told = action in CITIZEN_TOLD and not (action is Action.CLOSE and actor_role == "citizen")
    if told:
        await notify(
            session,
            recipient=complaint.owner_sub,
            kind=STATUS_CHANGED,
            params=_status_params(complaint, administration_names, reason),
        )
    if action is Action.ASSIGN and complaint.assignee_id is not None:
        await notify(
            session,
            recipient=complaint.assignee_id,
            kind="complaints.assigned",
            params=_status_params(complaint, administration_names, reason=None),
        )


async def publish_clock(
    session: AsyncSession,
    *,
    complaint: Facts,
    what: str,
    clock: str,
    due_at: datetime,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """An event of the scheduler (overdue, reminder, escalation), and the agent's notice."""
    fields = _base(complaint, now=now, actor_role="system") | {"clock": clock, "due_at": due_at}
    await add_event(
        session, CLOCK_EVENTS[what](**fields, **(extra or {})), subject=str(complaint.id)
    )
    # Escalations reach supervisors through the domain event: identity knows who they are.
    if what in ("overdue", "reminder_due") and complaint.assignee_id is not None:
        await notify(
            session,
            recipient=complaint.assignee_id,
            kind=f"complaints.{what}",
            params={
                "tracking_number": complaint.tracking_number,
                "due_date": local_day(due_at).isoformat(),
            },
        )


async def notify(
    session: AsyncSession, *, recipient: str, kind: str, params: dict[str, Any]
) -> None:
    """Ask identity to tell one person; subjects that are not account ids are skipped."""
    try:
        sub = uuid.UUID(recipient)
    except ValueError:
        return
    await add_event(
        session,
        NotificationRequested(recipient_sub=sub, kind=kind, params=params),
        subject=str(sub),
    )


def _status_params(
    complaint: Complaint, names: Mapping[str, str] | None, reason: str | None
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "tracking_number": complaint.tracking_number,
        "status": STATUS_LABELS[State(complaint.status)],
        "due_date": local_day(complaint.due_answer_at).isoformat(),
    }
    if names:
        params["administration"] = {
            "ar": names["name_ar"],
            "fr": names["name_fr"],
            "en": names["name_fr"],
        }
    if reason:
        params["reason"] = reason
    return params
