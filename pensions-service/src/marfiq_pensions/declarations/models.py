"""An employer's monthly declaration, its staged rows, and the chunks workers claim."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_pensions.affiliates.models import sql_list
from marfiq_pensions.db import Base
from marfiq_pensions.regimes import RegimeCode


class DeclarationStatus(StrEnum):
    RECEIVED = "received"  # staged, no chunk processed yet
    PROCESSING = "processing"
    PROCESSED = "processed"  # in force for its employer and period
    REPLACED = "replaced"  # was in force until a later declaration of the same month
    SUPERSEDED = "superseded"  # a later declaration arrived before it was processed


class ChunkStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


class Declaration(Base):
    __tablename__ = "declarations"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_list(DeclarationStatus)})", name="status"),
        CheckConstraint(f"regime IN ({sql_list(RegimeCode)})", name="regime"),
        CheckConstraint("source_format IN ('json', 'csv')", name="source_format"),
        # One declaration in force per employer and month: a resubmission flips this flag.
        Index(
            "uq_declarations_current",
            "employer_id",
            "period",
            unique=True,
            postgresql_where=text("current"),
        ),
        Index("ix_declarations_employer", "employer_id", "submitted_at", "id"),
        Index(
            "ix_declarations_unfinished",
            "submitted_at",
            postgresql_where=text("status IN ('received', 'processing')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    employer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    period: Mapped[date] = mapped_column(Date)  # the month's first day
    regime: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    current: Mapped[bool] = mapped_column(Boolean, server_default="false")
    source_format: Mapped[str] = mapped_column(String(8))
    content_sha256: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    row_count: Mapped[int] = mapped_column(Integer)
    accepted_count: Mapped[int | None] = mapped_column(Integer)
    rejected_count: Mapped[int | None] = mapped_column(Integer)
    replaced_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class DeclarationRow(Base):
    """A row as submitted (normalised), with its error once one is found.

    A row without an error is accepted once its chunk is done; rows refused on reading
    (a negative salary, a duplicate) are staged with their error already set. No foreign key
    to the declaration: rows are copied in with it, and a key check per row would double
    the cost of the copy.
    """

    __tablename__ = "declaration_rows"
    __table_args__ = (
        Index(
            "ix_declaration_rows_errors",
            "declaration_id",
            "row_number",
            postgresql_where=text("error_code IS NOT NULL"),
        ),
    )

    declaration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1 = first data row
    cin: Mapped[str | None] = mapped_column(String(16))
    affiliation_number: Mapped[str | None] = mapped_column(String(16))
    period: Mapped[date | None] = mapped_column(Date)
    days_worked: Mapped[int | None] = mapped_column(SmallInteger)
    # In centimes: integers copy several times faster than numeric, and rows are many.
    gross_salary_cents: Mapped[int | None] = mapped_column(BigInteger)
    phone: Mapped[str | None] = mapped_column(String(32))
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    grade: Mapped[str | None] = mapped_column(String(100))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_field: Mapped[str | None] = mapped_column(String(40))
    error_detail: Mapped[str | None] = mapped_column(String(300))


class DeclarationChunk(Base):
    """A run of rows processed in one transaction; workers claim them with SKIP LOCKED."""

    __tablename__ = "declaration_chunks"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_list(ChunkStatus)})", name="status"),
        Index(
            "ix_declaration_chunks_pending",
            "declaration_id",
            "chunk_no",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    declaration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_row: Mapped[int] = mapped_column(Integer)
    last_row: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")  # failed ones
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
