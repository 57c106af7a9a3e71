"""The events a correspondence's steps publish, and the notices its sender is sent.

Domain events (`correspondence.correspondence.*`) are for partners (webhooks) and any
consumer keeping a copy; people are told through `identity.notification.requested`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.correspondence.lifecycle import Action, State
from marfiq_correspondence.correspondence.models import Correspondence
from marfiq_correspondence.webhooks.queueing import queue_deliveries
from marfiq_shared.events.catalogue import (
    CorrespondenceAnswered,
    CorrespondenceAssigned,
    CorrespondenceClosed,
    CorrespondenceDocumentsAdded,
    CorrespondenceDocumentsRequested,
    CorrespondenceEvent,
    CorrespondenceForwarded,
    CorrespondenceRegistered,
    CorrespondenceRejected,
    EventData,
    NotificationRequested,
)
from marfiq_shared.events.outbox import add_event

STEP_EVENTS: Mapping[Action, type[CorrespondenceEvent]] = {
    Action.REGISTER: CorrespondenceRegistered,
    Action.ASSIGN: CorrespondenceAssigned,
    Action.REQUEST_DOCUMENTS: CorrespondenceDocumentsRequested,
    Action.ADD_DOCUMENTS: CorrespondenceDocumentsAdded,
    Action.FORWARD: CorrespondenceForwarded,
    Action.ANSWER: CorrespondenceAnswered,
    Action.REJECT: CorrespondenceRejected,
    Action.CLOSE: CorrespondenceClosed,
}
# Steps the sender is told about (what they did themselves, or internal routing, is not).
SENDER_TOLD = frozenset(
    {
        Action.REGISTER,
        Action.REQUEST_DOCUMENTS,
        Action.FORWARD,
        Action.ANSWER,
        Action.REJECT,
        Action.CLOSE,
    }
)
STATUS_CHANGED = "correspondence.status_changed"

STATUS_LABELS: Mapping[State, dict[str, str]] = {
    State.REGISTERED: {"ar": "مسجلة", "fr": "enregistré", "en": "registered"},
    State.ASSIGNED: {"ar": "قيد المعالجة", "fr": "en cours de traitement", "en": "being handled"},
    State.DOCUMENTS_REQUESTED: {
        "ar": "في انتظار وثائق إضافية",
        "fr": "en attente de pièces complémentaires",
        "en": "waiting for more documents",
    },
    State.FORWARDED: {
        "ar": "أحيلت على الإدارة المختصة",
        "fr": "transmis à l'administration compétente",
        "en": "forwarded to the competent administration",
    },
    State.ANSWERED: {"ar": "تمت الإجابة", "fr": "répondu", "en": "answered"},
    State.REJECTED: {"ar": "مرفوضة", "fr": "rejeté", "en": "rejected"},
    State.CLOSED: {"ar": "مغلقة", "fr": "clôturé", "en": "closed"},
}


def _base(row: Correspondence, *, now: datetime, actor_role: str) -> dict[str, Any]:
    return {
        "correspondence_id": row.id,
        "case_id": row.case_id,
        "registration_number": row.registration_number,
        "status": row.status,
        "administration_id": row.administration_id,
        "sender_kind": row.sender_kind,
        "sender_sub": row.sender_sub,
        "sender_administration_id": row.sender_administration_id,
        "outgoing_number": row.outgoing_number,
        "version": row.version,
        "occurred_at": now,
        "actor_role": actor_role,
    }


async def publish_step(
    session: AsyncSession,
    *,
    row: Correspondence,
    action: Action,
    actor_role: str,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> None:
    """The step's domain event, and the sender's notice, in the caller's transaction."""
    await publish(
        session,
        step_events(
            row=row, action=action, actor_role=actor_role, now=now, extra=extra, names=names
        ),
    )


async def publish(session: AsyncSession, found: Sequence[tuple[EventData, str]]) -> None:
    """Events with their subjects, in the caller's transaction; partners' webhook
    deliveries of a step's event are queued in it too (the outbox pattern, applied to
    webhooks: they exist if and only if the step was committed)."""
    for data, subject in found:
        event = await add_event(session, data, subject=subject)
        if isinstance(data, CorrespondenceEvent):
            await queue_deliveries(session, event=event, data=data)


def step_events(
    *,
    row: Correspondence,
    action: Action,
    actor_role: str,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[tuple[EventData, str]]:
    """The step's domain event and the sender's notice (when they are told), with the
    subject of each."""
    data = STEP_EVENTS[action](**_base(row, now=now, actor_role=actor_role), **(extra or {}))
    found: list[tuple[EventData, str]] = [(data, str(row.id))]
    if action in SENDER_TOLD and row.sender_administration_id is None:
        params: dict[str, Any] = {
            "registration_number": row.registration_number,
            "subject": row.subject,
            "status": STATUS_LABELS[State(row.status)],
        }
        if names:
            params["administration"] = {
                "ar": names["name_ar"],
                "fr": names["name_fr"],
                "en": names["name_fr"],
            }
        for key in ("reason", "message", "to_registration_number"):
            if extra and extra.get(key):
                params[key] = str(extra[key])
        notice = notice_of(recipient=row.sender_sub, kind=STATUS_CHANGED, params=params)
        if notice is not None:
            found.append(notice)
    return found


def notice_of(*, recipient: str, kind: str, params: dict[str, Any]) -> tuple[EventData, str] | None:
    """The notice asking identity to tell one person, and its subject; None for a subject
    that is not an account id."""
    try:
        sub = uuid.UUID(recipient)
    except ValueError:
        return None
    return NotificationRequested(recipient_sub=sub, kind=kind, params=params), str(sub)


async def notify(
    session: AsyncSession, *, recipient: str, kind: str, params: dict[str, Any]
) -> None:
    """Ask identity to tell one person; subjects that are not account ids are skipped."""
    notice = notice_of(recipient=recipient, kind=kind, params=params)
    if notice is not None:
        await add_event(session, notice[0], subject=notice[1])
