"""The scheduler's statements: each claims its rows and marks them in one statement.

Claiming is `FOR UPDATE SKIP LOCKED` on a partial index that holds only the rows the job
still has to do; the mark (a timestamp that takes the row out of that index) is written by
the same statement. Two replicas running a job at the same time therefore split the rows
between them, and a row marked by one is never seen again by the other: each due date is
reported exactly once. Status lists are SQL literals, not parameters, so the planner can
match them against the partial indexes' predicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.complaints.models import ACK_SQL, OPEN_SQL, Complaint
from marfiq_complaints.db import AnyRow

_TABLE = "complaints.complaints"
# What the events need (see complaints/events.py) and what the timeline note reads.
_RETURNED = ", ".join(
    f"c.{name}"
    for name in (
        "id", "tracking_number", "kind", "status", "administration_id", "owner_sub",
        "assignee_id", "urgent", "due_ack_at", "due_answer_at", "version", "ack_overdue_at",
        "answer_overdue_at", "overdue_since",
    )
)  # fmt: skip

_NOTE = """
    INSERT INTO complaints.timeline
        (complaint_id, at, action, actor_role, actor_id, from_state, to_state, details)
    SELECT id, :now, '{action}', 'system', 'scheduler', status, status, {details}
    FROM marked
"""


def _claim_and_mark(
    *, where: str, order: str, marks: str, note: tuple[str, str] | None = None
) -> Any:
    noted = ""
    if note is not None:
        action, details = note
        noted = f", noted AS ({_NOTE.format(action=action, details=details)})"
    # Every fragment is a constant of this module: nothing from outside reaches the SQL.
    return text(
        f"""
        WITH due AS (
            SELECT id FROM {_TABLE}
            WHERE {where}
            ORDER BY {order}
            LIMIT :batch
            FOR UPDATE SKIP LOCKED
        ), marked AS (
            UPDATE {_TABLE} AS c SET {marks}
            FROM due WHERE c.id = due.id
            RETURNING {_RETURNED}
        ){noted}
        SELECT * FROM marked
        """  # noqa: S608
    )


MARK_ACK_OVERDUE = _claim_and_mark(
    where=f"ack_overdue_at IS NULL AND status IN ({ACK_SQL}) AND due_ack_at < :now",
    order="due_ack_at",
    marks="ack_overdue_at = :now, overdue_since = coalesce(c.overdue_since, :now), "
    "version = c.version + 1",
    note=("overdue", "jsonb_build_object('clock', 'acknowledge', 'due_at', due_ack_at)"),
)
MARK_ANSWER_OVERDUE = _claim_and_mark(
    where=f"answer_overdue_at IS NULL AND status IN ({OPEN_SQL}) AND due_answer_at < :now",
    order="due_answer_at",
    marks="answer_overdue_at = :now, overdue_since = coalesce(c.overdue_since, :now), "
    "version = c.version + 1",
    note=("overdue", "jsonb_build_object('clock', 'answer', 'due_at', due_answer_at)"),
)
MARK_REMINDED = _claim_and_mark(
    where=f"reminded_at IS NULL AND assignee_id IS NOT NULL AND status IN ({OPEN_SQL}) "
    "AND due_answer_at > :now AND due_answer_at <= :horizon",
    order="due_answer_at",
    marks="reminded_at = :now",
)
MARK_ESCALATED = _claim_and_mark(
    where="escalated_at IS NULL AND overdue_since IS NOT NULL AND overdue_since <= :cutoff",
    order="overdue_since",
    marks="escalated_at = :now, version = c.version + 1",
    note=("escalate", "jsonb_build_object('overdue_since', overdue_since)"),
)


async def mark(session: AsyncSession, statement: Any, **params: Any) -> Sequence[AnyRow]:
    """Run one claim-and-mark statement; the rows it marked, as they now stand."""
    return (await session.execute(statement, params)).all()


async def lock_answered_past_window(
    session: AsyncSession, *, now: datetime, batch: int
) -> Sequence[Complaint]:
    """Answered complaints whose reopen window ended, locked for closing (others skipped)."""
    statement = (
        select(Complaint)
        .where(Complaint.status == literal_column("'answered'"), Complaint.reopen_until < now)
        .order_by(Complaint.reopen_until)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()
