"""An affiliate of the fund: who they are, under which regime, and what the fund holds."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, DateTime, Index, Integer, Numeric, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_pensions.db import SCHEMA, Base
from marfiq_pensions.regimes import RegimeCode

# The next number of the fund's sequence, nine digits (see db.AFFILIATION_NUMBERS).
NEXT_AFFILIATION_NUMBER = f"lpad(nextval('{SCHEMA}.affiliation_numbers')::text, 9, '0')"


class AffiliateStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"
    DECEASED = "deceased"


def sql_list(values: type[StrEnum]) -> str:
    """The values of an enumeration as an SQL list, for check constraints."""
    return ", ".join(f"'{value}'" for value in values)


class Affiliate(Base):
    __tablename__ = "affiliates"
    __table_args__ = (
        CheckConstraint(f"regime IN ({sql_list(RegimeCode)})", name="regime"),
        CheckConstraint(f"status IN ({sql_list(AffiliateStatus)})", name="status"),
        CheckConstraint("monthly_pension IS NULL OR monthly_pension >= 0", name="pension"),
        # The payment run reads retired affiliates only.
        Index("ix_affiliates_retired", "id", postgresql_where=text("status = 'retired'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    affiliation_number: Mapped[str] = mapped_column(
        String(12), unique=True, server_default=text(NEXT_AFFILIATION_NUMBER)
    )
    cin: Mapped[str] = mapped_column(String(16), unique=True)
    # Unknown for people an employer declared without them (filled later by the fund).
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    regime: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default=AffiliateStatus.ACTIVE.value)
    # The phone the fund holds, E.164: published to identity as an authoritative contact.
    phone: Mapped[str | None] = mapped_column(String(32))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    city: Mapped[str | None] = mapped_column(String(100))
    # Retired affiliates: when the pension started and its liquidated monthly amount.
    pension_start: Mapped[date | None] = mapped_column(Date)
    monthly_pension: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
