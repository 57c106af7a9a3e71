"""A document the platform issued: a receipt, an answer, a pension certificate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_correspondence.db import Base

KINDS = ("receipt", "answer", "certificate")


class IssuedDocument(Base):
    """One entry of the registry, found by its verification code.

    A receipt is registered with its content at once and drawn and signed when first
    asked for (`sha256` is null until then); answers are signed when issued; certificates
    are announced by pensions-service with their hash (their PDF is not kept here).
    """

    __tablename__ = "issued_documents"
    __table_args__ = (
        CheckConstraint("kind IN ('receipt', 'answer', 'certificate')", name="kind"),
        Index(
            "ix_issued_documents_correspondence_id",
            "correspondence_id",
            postgresql_where=text("correspondence_id IS NOT NULL"),
        ),
    )

    code: Mapped[str] = mapped_column(String(14), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The administration in whose name it was issued (absent: the platform itself).
    issuer_administration_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    issuer_name_fr: Mapped[str] = mapped_column(String(300))
    issuer_name_ar: Mapped[str] = mapped_column(String(300))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A registration number or a certificate type: what a reader compares with the paper.
    reference: Mapped[str] = mapped_column(String(64))
    correspondence_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # What the PDF shows, kept so that a receipt drawn later shows the facts of the day.
    content: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    storage_key: Mapped[str | None] = mapped_column(String(512))
    signed_by: Mapped[str | None] = mapped_column(String(300))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
