"""Bank account changes (one pending at most, one in force at most) and their audit trail."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_pensions.affiliates.models import sql_list
from marfiq_pensions.db import Base


class ChangeStatus(StrEnum):
    PENDING = "pending"  # requested; takes effect at the next payment run
    IN_FORCE = "in_force"  # the account pensions are paid to
    REPLACED = "replaced"  # was in force until a later change took effect
    CANCELLED = "cancelled"  # withdrawn by the person before it took effect
    SUPERSEDED = "superseded"  # another request replaced it before it took effect


class AuditAction(StrEnum):
    REQUESTED = "requested"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    IN_FORCE = "in_force"


class BankAccountChange(Base):
    __tablename__ = "bank_account_changes"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_list(ChangeStatus)})", name="status"),
        CheckConstraint("rib ~ '^[0-9]{24}$'", name="rib"),
        Index(
            "uq_bank_account_changes_pending",
            "affiliate_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "uq_bank_account_changes_in_force",
            "affiliate_id",
            unique=True,
            postgresql_where=text("status = 'in_force'"),
        ),
        Index("ix_bank_account_changes_affiliate", "affiliate_id", "requested_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    affiliate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("affiliates.id"))
    rib: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[str] = mapped_column(String(128))  # the token's sub
    session_id: Mapped[str | None] = mapped_column(String(128))  # the token's sid
    acr: Mapped[str] = mapped_column(String(16))
    # The first payment month it can apply to, as announced to the person.
    effective_month: Mapped[date] = mapped_column(Date)
    in_force_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BankAccountAudit(Base):
    """Who did what to a bank account, from which session; rows are only ever added."""

    __tablename__ = "bank_account_audit"
    __table_args__ = (
        CheckConstraint(f"action IN ({sql_list(AuditAction)})", name="action"),
        Index("ix_bank_account_audit_affiliate", "affiliate_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    affiliate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("affiliates.id"))
    change_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bank_account_changes.id"))
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))  # a sub, or "payment-run"
    session_id: Mapped[str | None] = mapped_column(String(128))
    acr: Mapped[str | None] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(128))
