"""Code challenges, and the counters that limit sending and guessing."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base, closed_list

# Domains rather than table CHECKs (migration 0010), written by every code sent.
PURPOSE = closed_list("otp_purpose", 16, "sign_in", "contact_change")
CHANNEL = closed_list("otp_channel", 8, "sms", "email")


class OtpChallenge(Base):
    """One code sent to one contact. Only its HMAC is kept; it is good for one use."""

    __tablename__ = "otp_challenges"
    __table_args__ = (
        CheckConstraint("purpose = 'sign_in' OR account_id IS NOT NULL", name="account"),
        # Send limits and the cool-down: the recent challenges of one contact.
        Index("ix_otp_challenges_destination_created_at", "destination", "created_at"),
        # The per-address limit counts the recent challenges of one client address: an
        # insert-only count that no two requests ever wait on each other for.
        Index("ix_otp_challenges_client_address_created_at", "client_address", "created_at"),
        # Pruning; created_at only grows, so BRIN stays tiny.
        Index("ix_otp_challenges_created_at", "created_at", postgresql_using="brin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    purpose: Mapped[str] = mapped_column(PURPOSE)
    channel: Mapped[str] = mapped_column(CHANNEL)
    # E.164 phone number or lower-cased e-mail address.
    destination: Mapped[str] = mapped_column(String(254))
    # The account changing its contact (purpose contact_change).
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.accounts.id", ondelete="CASCADE")
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    language: Mapped[str] = mapped_column(String(2))
    client_address: Mapped[str] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OtpFailureCount(Base):
    """Consecutive wrong codes of one contact or one account, across challenges."""

    __tablename__ = "otp_failure_counts"

    # "contact:<E.164 or e-mail>" or "account:<uuid>".
    subject: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Past the limit, the next try is accepted only from this instant.
    throttled_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
