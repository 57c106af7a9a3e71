"""Notifications waiting to be delivered (one row per person, event and channel)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base


class Delivery(Base):
    """A notification to send, written in the transaction that decided it (the consumer's
    for a requested notification) and sent by the delivery worker afterwards.

    Codes never come here: a notification may be kept and retried for hours, a code must
    not be kept readable at all.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        # An event redelivered, or handled twice by a crash, gives one message per channel.
        UniqueConstraint("event_id", "channel", name="uq_deliveries_event_id_channel"),
        # The worker's only query: what is due and neither sent nor given up.
        Index(
            "ix_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
