"""A correspondence as registered by one administration, its documents and its timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_correspondence.correspondence.lifecycle import State
from marfiq_correspondence.db import Base

SUBJECT_MAX = 300
BODY_MAX = 20_000
TEXT_MAX = 20_000
REASON_MAX = 2_000
STATES_SQL = ", ".join(f"'{state.value}'" for state in State)


class Correspondence(Base):
    """One registration of a letter in one administration's incoming register.

    Forwarding registers the letter again in the other administration (a new row of the
    same `case_id`); each row keeps its own number, timeline and steps.
    """

    __tablename__ = "correspondence"
    __table_args__ = (
        CheckConstraint(f"status IN ({STATES_SQL})", name="status"),
        CheckConstraint(
            "sender_kind IN ('citizen', 'company', 'administration')", name="sender_kind"
        ),
        CheckConstraint(f"char_length(subject) BETWEEN 1 AND {SUBJECT_MAX}", name="subject"),
        CheckConstraint(
            "(sender_kind = 'administration') = (sender_administration_id IS NOT NULL)",
            name="sender_administration",
        ),
        CheckConstraint("(sender_kind = 'company') = (company_ice IS NOT NULL)", name="company"),
        # An administration's inbox (newest first, optionally by status) and outbox.
        Index("ix_correspondence_inbox", "administration_id", "registered_at", "id"),
        Index(
            "ix_correspondence_inbox_status", "administration_id", "status", "registered_at", "id"
        ),
        Index(
            "ix_correspondence_outbox",
            "sender_administration_id",
            "registered_at",
            "id",
            postgresql_where=text("sender_administration_id IS NOT NULL"),
        ),
        # A person's own letters.
        Index("ix_correspondence_sender", "sender_sub", "registered_at", "id"),
        Index("ix_correspondence_case_id", "case_id"),
        Index(
            "uq_correspondence_register_sequence",
            "administration_id",
            "register_year",
            "register_sequence",
            unique=True,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    registration_number: Mapped[str] = mapped_column(String(48), unique=True)
    register_year: Mapped[int] = mapped_column(SmallInteger)
    register_sequence: Mapped[int] = mapped_column(Integer)
    # The administration whose register holds it (the recipient, or the one it was
    # forwarded to).
    administration_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("correspondence.administrations.id")
    )
    sender_kind: Mapped[str] = mapped_column(String(16))
    # The person who filed it (for an administration's mail: the agent who sent it).
    sender_sub: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    sender_cin: Mapped[str | None] = mapped_column(String(16))
    company_ice: Mapped[str | None] = mapped_column(String(15))
    company_name: Mapped[str | None] = mapped_column(String(200))
    sender_administration_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    outgoing_number: Mapped[str | None] = mapped_column(String(48), unique=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    department: Mapped[str | None] = mapped_column(String(120))
    assignee_id: Mapped[str | None] = mapped_column(String(128))
    forwarded_from_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    forwarded_to_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_code: Mapped[str | None] = mapped_column(String(14))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    receipt_code: Mapped[str] = mapped_column(String(14))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Grows with every step; events carry it so consumers can order them.
    version: Mapped[int] = mapped_column(Integer)


class CaseDocument(Base):
    """A document of a correspondence: what the sender attached or added, what the
    administration answered with, the receipt. Files are shared, not copied, when a letter
    is forwarded: each registration links to the same stored file."""

    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('attachment', 'supplement', 'answer', 'answer_attachment', 'receipt')",
            name="kind",
        ),
        CheckConstraint("(file_id IS NULL) <> (issued_code IS NULL)", name="one_source"),
        Index("ix_documents_correspondence_id_seq", "correspondence_id", "seq"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Insertion order: documents are listed in the order they were given.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    correspondence_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("correspondence.correspondence.id")
    )
    kind: Mapped[str] = mapped_column(String(20))
    file_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("correspondence.files.id")
    )
    issued_code: Mapped[str | None] = mapped_column(
        String(14), ForeignKey("correspondence.issued_documents.code")
    )
    added_by_role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TimelineRecord(Base):
    """One step in a correspondence's life. `internal` entries (notes of the holding
    administration) are shown to its agents only, never to the sender."""

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_correspondence_id_id", "correspondence_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    correspondence_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("correspondence.correspondence.id")
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(32))
    actor_role: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(128))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    internal: Mapped[bool] = mapped_column(Boolean, server_default="false")
    message: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
