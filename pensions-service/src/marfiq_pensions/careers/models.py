"""A career: service periods the fund recorded before online declarations, and the monthly
contribution lines employers' declarations bring."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_pensions.db import Base


class CareerPeriod(Base):
    """Whole months of service at one salary, from the fund's records (not declarations)."""

    __tablename__ = "career_periods"
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="dates"),
        CheckConstraint("monthly_salary >= 0", name="salary"),
        CheckConstraint("days IS NULL OR days >= 0", name="days"),
        Index("ix_career_periods_affiliate", "affiliate_id", "start_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    affiliate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("affiliates.id", ondelete="CASCADE"))
    employer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    employer_name: Mapped[str | None] = mapped_column(String(300))
    grade: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)  # a month's first day
    end_date: Mapped[date] = mapped_column(Date)  # a month's last day
    monthly_salary: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    days: Mapped[int | None] = mapped_column(Integer)  # over the whole period; None: full time
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContributionLine(Base):
    """One person's month in one declaration. Only lines of a declaration in force count.

    No foreign keys: lines are written only by the declaration worker, from the declaration
    it holds and the affiliates it just resolved, and a key check per row would cost more
    than the rest of the insert.
    """

    __tablename__ = "contribution_lines"
    __table_args__ = (
        CheckConstraint("gross_salary >= 0", name="salary"),
        CheckConstraint("days_worked >= 0", name="days"),
        Index("ix_contribution_lines_affiliate", "affiliate_id", "period"),
    )

    # Keyed by the row it came from: keys grow within a declaration, so inserts append. A
    # person is on one row of a declaration at most (duplicates are refused on receipt).
    declaration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    affiliate_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    employer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    period: Mapped[date] = mapped_column(Date)  # the month's first day
    days_worked: Mapped[int] = mapped_column(SmallInteger)
    gross_salary: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    employee_contribution: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    employer_contribution: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    grade: Mapped[str | None] = mapped_column(String(100))
