"""A complaint (or observation, suggestion, information request), its timeline, its
redirections."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_complaints.complaints.search import SEARCH_VECTOR
from marfiq_complaints.db import Base
from marfiq_complaints.deadlines import Kind
from marfiq_complaints.lifecycle import OPEN_STATES, RUNNING_CLOCKS, Clock, State

SUBJECT_MAX = 200
DESCRIPTION_MAX = 10_000
ANSWER_MAX = 20_000
REASON_MAX = 2_000
COMMENT_MAX = 1_000


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in sorted(values))


KINDS_SQL = _sql_list(Kind)
STATES_SQL = _sql_list(State)
OPEN_SQL = _sql_list(OPEN_STATES)
# States in which the acknowledgement clock runs (submitted, redirected).
ACK_STATES = frozenset(s for s, clocks in RUNNING_CLOCKS.items() if Clock.ACKNOWLEDGE in clocks)
ACK_SQL = _sql_list(ACK_STATES)


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"kind IN ({KINDS_SQL})", name="kind"),
        CheckConstraint(f"status IN ({STATES_SQL})", name="status"),
        CheckConstraint(f"char_length(subject) BETWEEN 1 AND {SUBJECT_MAX}", name="subject"),
        CheckConstraint(
            f"char_length(description) BETWEEN 1 AND {DESCRIPTION_MAX}", name="description"
        ),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
        # Agents' queues: newest or oldest first, by administration, optionally by status.
        Index("ix_complaints_queue", "administration_id", "created_at", "id"),
        Index("ix_complaints_queue_status", "administration_id", "status", "created_at", "id"),
        Index(
            "ix_complaints_queue_overdue",
            "administration_id",
            "created_at",
            "id",
            postgresql_where=text("overdue_since IS NOT NULL"),
        ),
        Index(
            "ix_complaints_assignee",
            "assignee_id",
            "created_at",
            "id",
            postgresql_where=text("assignee_id IS NOT NULL"),
        ),
        # A citizen's own list.
        Index("ix_complaints_owner", "owner_sub", "created_at", "id"),
        Index("ix_complaints_search", "search_vector", postgresql_using="gin"),
        # The scheduler's scans: each partial index holds only what a job still has to do.
        Index(
            "ix_complaints_ack_due",
            "due_ack_at",
            postgresql_where=text(f"ack_overdue_at IS NULL AND status IN ({ACK_SQL})"),
        ),
        Index(
            "ix_complaints_answer_due",
            "due_answer_at",
            postgresql_where=text(f"answer_overdue_at IS NULL AND status IN ({OPEN_SQL})"),
        ),
        Index(
            "ix_complaints_reminders",
            "due_answer_at",
            postgresql_where=text(
                f"reminded_at IS NULL AND assignee_id IS NOT NULL AND status IN ({OPEN_SQL})"
            ),
        ),
        Index(
            "ix_complaints_escalation",
            "overdue_since",
            postgresql_where=text("escalated_at IS NULL AND overdue_since IS NOT NULL"),
        ),
        Index(
            "ix_complaints_reopen_window",
            "reopen_until",
            postgresql_where=text("status = 'answered'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    owner_sub: Mapped[str] = mapped_column(String(128))
    # The administration holding it now; it alone (and the owner) may see it.
    administration_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.administrations.id")
    )
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    description: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the holding administration received it: the submission, or the last redirect.
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_ack_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_answer_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    assignee_id: Mapped[str | None] = mapped_column(String(128))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The latest answer, and the first one (which the statistics count).
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_count: Mapped[int] = mapped_column(Integer, server_default="0")
    reopen_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    extended: Mapped[bool] = mapped_column(Boolean, server_default="false")
    reopen_count: Mapped[int] = mapped_column(Integer, server_default="0")
    redirect_count: Mapped[int] = mapped_column(Integer, server_default="0")
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_comment: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by the scheduler when it published `.overdue` for the current due date of that
    # clock; cleared when that due date changes (so each due date is reported once).
    ack_overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answer_overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Non-null while a reported due date is missed on a clock that still runs.
    overdue_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Grows with every step; the ETag, and what events carry for ordering.
    version: Mapped[int] = mapped_column(Integer)
    search_vector: Mapped[Any] = mapped_column(
        TSVECTOR, Computed(SEARCH_VECTOR, persisted=True), deferred=True
    )


class TimelineRecord(Base):
    """One step in a complaint's life: who, when, what, why."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_complaint_id_id", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.complaints.id")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(128))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    # The answer itself, for answer steps.
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class Redirection(Base):
    """A redirect seen from both sides: the first administration keeps this link after it
    lost access to the complaint, the second one sees where it came from."""

    __tablename__ = "redirections"
    __table_args__ = (
        Index("ix_redirections_from", "from_administration_id", "at", "id"),
        Index("ix_redirections_to", "to_administration_id", "at", "id"),
        Index("ix_redirections_complaint_id", "complaint_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.complaints.id")
    )
    tracking_number: Mapped[str] = mapped_column(String(32))
    from_administration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    to_administration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
