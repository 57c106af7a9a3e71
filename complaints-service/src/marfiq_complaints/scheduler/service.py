"""The deadline jobs: overdue, reminders, escalation, closing answers nobody reopened.

Each job handles at most one batch in the caller's transaction and says how many rows it
took; the runner repeats a job until a batch comes back short.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints.events import publish_clock
from marfiq_complaints.complaints.models import ACK_STATES
from marfiq_complaints.complaints.steps import step
from marfiq_complaints.lifecycle import NO_PAYLOAD, Action, Actor, Policy
from marfiq_complaints.scheduler import repository
from marfiq_shared.problems import Problem

log = logging.getLogger("marfiq.complaints.scheduler")

SYSTEM = Actor.system()


async def mark_overdue(session: AsyncSession, *, now: datetime, batch: int) -> int:
    """Report each missed due date once (`complaints.complaint.overdue`)."""
    taken = 0
    for statement, clock, due in (
        (repository.MARK_ACK_OVERDUE, "acknowledge", "due_ack_at"),
        (repository.MARK_ANSWER_OVERDUE, "answer", "due_answer_at"),
    ):
        rows = await repository.mark(session, statement, now=now, batch=batch)
        for row in rows:
            await publish_clock(
                session,
                complaint=row,
                what="overdue",
                clock=clock,
                due_at=getattr(row, due),
                now=now,
            )
        taken = max(taken, len(rows))
    return taken


async def send_reminders(
    session: AsyncSession, *, now: datetime, lead: timedelta, batch: int
) -> int:
    """Remind the assigned agent once per answer due date, `lead` before it."""
    rows = await repository.mark(
        session, repository.MARK_REMINDED, now=now, horizon=now + lead, batch=batch
    )
    for row in rows:
        await publish_clock(
            session,
            complaint=row,
            what="reminder_due",
            clock="answer",
            due_at=row.due_answer_at,
            now=now,
        )
    return len(rows)


def _missed_clock(row: Any) -> tuple[str, datetime]:
    if row.status in ACK_STATES and row.ack_overdue_at is not None:
        return "acknowledge", row.due_ack_at
    return "answer", row.due_answer_at


async def escalate(session: AsyncSession, *, now: datetime, delay: timedelta, batch: int) -> int:
    """Hand complaints overdue for longer than `delay` to the supervisors, once per spell."""
    rows = await repository.mark(
        session, repository.MARK_ESCALATED, now=now, cutoff=now - delay, batch=batch
    )
    for row in rows:
        clock, due_at = _missed_clock(row)
        await publish_clock(
            session,
            complaint=row,
            what="escalated",
            clock=clock,
            due_at=due_at,
            now=now,
            extra={"overdue_since": row.overdue_since},
        )
    return len(rows)


async def close_unreopened(
    session: AsyncSession, *, now: datetime, policy: Policy, batch: int
) -> int:
    """Close answered complaints whose reopen window ended without a reopening."""
    complaints = await repository.lock_answered_past_window(session, now=now, batch=batch)
    for complaint in complaints:
        try:
            async with session.begin_nested():
                await step(
                    session,
                    complaint=complaint,
                    action=Action.CLOSE,
                    actor=SYSTEM,
                    payload=NO_PAYLOAD,
                    policy=policy,
                    now=now,
                )
        except Problem as refused:  # rules changed since the answer: leave it to a person
            log.warning("complaint %s not closed: %s", complaint.id, refused)
    return len(complaints)
