"""Sessions and their refresh tokens (stored as hashes only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base


class AuthSession(Base):
    """One sign-in: its id is the `sid` claim; revoking it ends every token it issued."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.accounts.id", ondelete="CASCADE"), index=True
    )
    acr: Mapped[str] = mapped_column(String(16))
    amr: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The session cannot be refreshed past this instant, however often it is used.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    # A digest of the device that signed in (its X-Device-Id, else its User-Agent), to tell
    # the person when a sign-in comes from a device never seen before.
    device: Mapped[str | None] = mapped_column(String(64))


class RefreshToken(Base):
    """An opaque refresh token; only its SHA-256 is kept (it carries 256 random bits)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.sessions.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set when it is exchanged; presenting it again then revokes the whole session.
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
