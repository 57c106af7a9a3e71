"""Authoritative contacts and the record of identity checks made in person."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base


class AuthoritativeContact(Base):
    """A phone number or e-mail address that an authority ties to a CIN.

    Fed by the pension fund (`pensions.affiliate.contact_registered`) and by agents who
    checked a person's identity in person. A code verified on such a contact proves the
    CIN at `substantial`.
    """

    __tablename__ = "authoritative_contacts"
    __table_args__ = (CheckConstraint("source IN ('pensions', 'in_person')", name="source"),)

    contact: Mapped[str] = mapped_column(String(254), primary_key=True)
    cin: Mapped[str] = mapped_column(String(16), index=True)
    source: Mapped[str] = mapped_column(String(16))
    # When the authority registered it: a late, older registration never overwrites.
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdentityCheck(Base):
    """An agent saw the person and their identity document at a counter (append only)."""

    __tablename__ = "identity_checks"
    __table_args__ = (
        CheckConstraint(
            "document_type IN ('cin_card', 'passport', 'residence_permit')", name="document_type"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.accounts.id", ondelete="CASCADE"), index=True
    )
    cin: Mapped[str] = mapped_column(String(16))
    document_type: Mapped[str] = mapped_column(String(20))
    administration_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.administrations.id"), index=True
    )
    checked_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
