"""The eID challenges as stored: one row per nonce handed to the app."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, LargeBinary
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base


class EidChallenge(Base):
    """A nonce for Active Authentication; `used_at` is set once, when it is redeemed."""

    __tablename__ = "eid_challenges"
    __table_args__ = (
        CheckConstraint("octet_length(nonce) = 8", name="nonce_length"),
        CheckConstraint("created_at < expires_at", name="window"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Indexed so that spent and expired rows can be purged in one sweep.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
