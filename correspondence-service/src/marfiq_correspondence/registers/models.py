"""The counter behind each register: the next number to hand out."""

from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, Integer, SmallInteger, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_correspondence.db import Base


class RegisterCounter(Base):
    """One row per (administration, year, register). Taking a number updates the row in the
    registering transaction, so a rolled-back registration gives its number back: no gaps,
    and the row lock makes concurrent registrations wait their turn: no duplicates."""

    __tablename__ = "register_counters"
    __table_args__ = (
        CheckConstraint("register IN ('in', 'out')", name="register"),
        CheckConstraint("next_value >= 1", name="next_value"),
    )

    administration_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    register: Mapped[str] = mapped_column(String(3), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer)
