"""The account: one person, their contacts, language and roles."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ARRAY, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base, closed_list


class AccountKind(StrEnum):
    citizen = "citizen"
    agent = "agent"
    platform_admin = "platform_admin"


# Domains rather than table CHECKs (migration 0010), written on every first sign-in.
KIND = closed_list("account_kind", 20, "citizen", "agent", "platform_admin")
LANGUAGE = closed_list("account_language", 2, "ar", "fr", "en")


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # An agent always belongs to exactly one administration.
        CheckConstraint("kind <> 'agent' OR administration_id IS NOT NULL", name="agent_adm"),
        # Someone signed in only with their identity card has a CIN and no contact yet.
        CheckConstraint(
            "phone IS NOT NULL OR email IS NOT NULL OR cin IS NOT NULL", name="contact"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(KIND)
    # E.164 ("+212612345678") and lower-cased e-mail: the forms sign-in looks them up by.
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    language: Mapped[str] = mapped_column(LANGUAGE)
    # National identity card number, set only once the identity is proven.
    cin: Mapped[str | None] = mapped_column(String(16), unique=True)
    administration_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.administrations.id"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
