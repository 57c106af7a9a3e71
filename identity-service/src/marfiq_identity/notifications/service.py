"""Notifications: turning a request into messages on the person's channels, in their
language, exactly once per event and channel."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.models import Account
from marfiq_identity.agents import repository as agents
from marfiq_identity.notifications import repository
from marfiq_identity.notifications.messages import CHANNELS, Channel, notice_texts
from marfiq_identity.raw import Executor
from marfiq_shared.events.catalogue import ComplaintEscalated, NotificationRequested
from marfiq_shared.events.envelope import CloudEvent

log = logging.getLogger("marfiq.identity.notifications")

# Dates in messages are the days people see on their calendar, as deadlines are computed.
_LOCAL_TIME = ZoneInfo("Africa/Casablanca")


def _contact(account: Account, channel: Channel) -> str | None:
    return account.phone if channel == "sms" else account.email


async def queue_notice(
    session: Executor,
    *,
    account: Account,
    kind: str,
    params: dict[str, str | dict[str, str]],
    channels: Iterable[str] | None = None,
    event_id: uuid.UUID | None = None,
    to: dict[Channel, str] | None = None,
    now: datetime | None = None,
) -> int:
    """Queue one message per wanted channel the person has (or per entry of `to`, to
    reach a contact they no longer have); how many were queued."""
    now = now or datetime.now(UTC)
    language = account.language
    subject, body = notice_texts(kind, params, language)  # type: ignore[arg-type]
    wanted = set(channels) if channels is not None else set(CHANNELS)
    rows = []
    for channel in CHANNELS:
        destination = to.get(channel) if to is not None else _contact(account, channel)
        if channel not in wanted or destination is None:
            continue
        rows.append(
            {
                "id": uuid.uuid4(),
                # Without an event, each call is its own notification.
                "event_id": event_id or uuid.uuid4(),
                "account_id": account.id,
                "kind": kind,
                "channel": channel,
                "destination": destination,
                "language": language,
                "subject": subject[:200],
                "body": body,
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            }
        )
    return await repository.add_unless_present(session, rows)


async def on_notification_requested(
    session: Executor, event: CloudEvent, data: NotificationRequested
) -> None:
    """`identity.notification.requested`: queue the messages for the person it names.

    A driver handler (`DriverHandler` in SUBSCRIPTIONS): its one statement runs on the
    consumer's `JoinedTransaction`, or on a session's connection, its changes flushed."""
    wanted = set(data.channels) if data.channels is not None else set(CHANNELS)
    params = dict(data.params)
    texts = []
    for language in repository.TEXT_LANGUAGES:
        subject, body = notice_texts(data.kind, params, language)
        texts.append((subject[:200], body))
    # One statement: the person's contacts are read where their deliveries are written.
    # The sub wins when both are given; a disabled account is told nothing.
    found, queued = await repository.queue_requested(
        session,
        sub=data.recipient_sub,
        cin=data.recipient_cin,
        event_id=uuid.UUID(event.id),
        kind=data.kind,
        sms="sms" in wanted,
        email="email" in wanted,
        texts=texts,
        now=datetime.now(UTC),
    )
    if not found:
        # Nobody to tell (yet): a person without an account has no channel we know of.
        log.info("notification without a reachable recipient", extra={"event_id": event.id})
    elif not queued:
        log.info("notification with no channel to deliver on", extra={"event_id": event.id})


async def on_complaint_escalated(
    session: AsyncSession, event: CloudEvent, data: ComplaintEscalated
) -> None:
    """`complaints.complaint.escalated`: tell each supervisor of the administration.

    Complaints-service does not know who supervises an administration; identity does.
    """
    supervisors = await agents.supervisors_of(session, data.administration_id)
    if not supervisors:
        log.warning(
            "escalation for an administration without supervisors",
            extra={"event_id": event.id, "administration_id": str(data.administration_id)},
        )
        return
    params: dict[str, str | dict[str, str]] = {
        "tracking_number": data.tracking_number,
        "due_date": data.due_at.astimezone(_LOCAL_TIME).date().isoformat(),
        "overdue_since": data.overdue_since.astimezone(_LOCAL_TIME).date().isoformat(),
    }
    for supervisor in supervisors:
        # One notification per supervisor, each as idempotent as the event itself.
        await queue_notice(
            session,
            account=supervisor,
            kind="complaints.escalated",
            params=params,
            event_id=uuid.uuid5(uuid.UUID(event.id), str(supervisor.id)),
        )
