"""Certificates issued to affiliates: the signed PDF as it was handed out, and its hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_pensions.affiliates.models import sql_list
from marfiq_pensions.db import Base


class CertificateType(StrEnum):
    AFFILIATION = "affiliation"
    PENSION = "pension"


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint(f"type IN ({sql_list(CertificateType)})", name="type"),
        Index("ix_certificates_affiliate", "affiliate_id", "issued_at"),
    )

    code: Mapped[str] = mapped_column(String(14), primary_key=True)  # XXXX-XXXX-XXXX
    affiliate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("affiliates.id"))
    type: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    # Who asked for it: the token's sub and sign-in session.
    requested_by: Mapped[str] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
