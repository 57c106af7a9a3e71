"""Taking the next number of a register, and how numbers are written."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.registers.models import RegisterCounter

LOCAL = ZoneInfo("Africa/Casablanca")
DIGITS = 6


class Register(StrEnum):
    INCOMING = "in"
    OUTGOING = "out"


@dataclass(frozen=True, slots=True)
class Number:
    register: Register
    year: int
    sequence: int
    text: str


def register_year(at: datetime) -> int:
    """Registers run per calendar year in Morocco's time (a letter of 31 December at 23:30
    UTC is already next year's there)."""
    return at.astimezone(LOCAL).year


def format_number(code: str, year: int, sequence: int, register: Register) -> str:
    """`MEF-2026-000123` in the incoming register, `MEF-2026-D-000045` in the outgoing
    (départ) one; more than a million letters a year widens the number, never wraps it."""
    middle = f"{year}-D" if register is Register.OUTGOING else f"{year}"
    return f"{code.upper()}-{middle}-{sequence:0{DIGITS}d}"


async def take_number(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    administration_code: str,
    register: Register,
    at: datetime,
) -> Number:
    """The next number of a register, in the caller's transaction.

    One statement: the first number of a year creates the row, later ones increment it;
    the row stays locked until the transaction ends. Take it as late as possible in the
    transaction: every registration in that register waits for this one to commit.
    """
    year = register_year(at)
    statement = (
        insert(RegisterCounter)
        .values(
            administration_id=administration_id, year=year, register=register.value, next_value=2
        )
        .on_conflict_do_update(
            index_elements=[
                RegisterCounter.administration_id,
                RegisterCounter.year,
                RegisterCounter.register,
            ],
            set_={"next_value": RegisterCounter.next_value + 1},
        )
        .returning(RegisterCounter.next_value - 1)
    )
    sequence = int((await session.execute(statement)).scalar_one())
    return Number(
        register, year, sequence, format_number(administration_code, year, sequence, register)
    )
