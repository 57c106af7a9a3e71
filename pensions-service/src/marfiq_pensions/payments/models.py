"""Monthly payment runs and the payments they record, one per affiliate and month."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_pensions.affiliates.models import sql_list
from marfiq_pensions.db import Base


class PaymentStatus(StrEnum):
    PAID = "paid"  # sent to the account in force
    HELD = "held"  # no account in force: kept until the person gives one


class PaymentRun(Base):
    __tablename__ = "payment_runs"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # the month's first day
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payments: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Numeric(16, 2))


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        # However many runs race for a month, an affiliate is paid once.
        UniqueConstraint("affiliate_id", "month"),
        CheckConstraint(f"status IN ({sql_list(PaymentStatus)})", name="status"),
        CheckConstraint("amount >= 0", name="amount"),
        Index("ix_payments_month", "month"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    affiliate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("affiliates.id"))
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(8))
    rib: Mapped[str | None] = mapped_column(String(24))
    bank_account_change_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bank_account_changes.id")
    )
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
