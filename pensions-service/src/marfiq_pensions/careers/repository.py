"""Every query on careers: recorded periods and contribution lines in force."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.careers.build import Declared, DeclaredMonth, Recorded, RecordedPeriod
from marfiq_pensions.careers.models import CareerPeriod, ContributionLine
from marfiq_pensions.db import administrations
from marfiq_pensions.declarations.models import Declaration
from marfiq_pensions.regimes import RegimeCode

_employer_name = administrations.c.name_fr


async def recorded(session: AsyncSession, affiliate_id: uuid.UUID) -> list[RecordedPeriod]:
    """The fund's recorded periods, oldest first."""
    result = await session.execute(
        select(CareerPeriod, _employer_name)
        .outerjoin(administrations, administrations.c.id == CareerPeriod.employer_id)
        .where(CareerPeriod.affiliate_id == affiliate_id)
        .order_by(CareerPeriod.start_date)
    )
    return [
        RecordedPeriod(
            start=period.start_date,
            end=period.end_date,
            employer_id=period.employer_id,
            employer_name=name or period.employer_name,
            grade=period.grade,
            salary=period.monthly_salary,
            days=period.days,
        )
        for period, name in result.all()
    ]


def _in_force(affiliate_id: uuid.UUID):  # type: ignore[no-untyped-def]
    return (
        select(ContributionLine, _employer_name)
        .join(
            Declaration,
            (Declaration.id == ContributionLine.declaration_id) & Declaration.current,
        )
        .outerjoin(administrations, administrations.c.id == ContributionLine.employer_id)
        .where(ContributionLine.affiliate_id == affiliate_id)
    )


def _declared(row: Any) -> DeclaredMonth:
    line, name = row
    return DeclaredMonth(
        period=line.period,
        employer_id=line.employer_id,
        employer_name=name,
        salary=line.gross_salary,
        days=line.days_worked,
        employee=line.employee_contribution,
        employer=line.employer_contribution,
        grade=line.grade,
    )


async def declared(session: AsyncSession, affiliate_id: uuid.UUID) -> list[DeclaredMonth]:
    """Every contribution line in force, oldest first."""
    query = _in_force(affiliate_id).order_by(ContributionLine.period)
    return [_declared(row) for row in (await session.execute(query)).all()]


async def declared_page(
    session: AsyncSession,
    affiliate_id: uuid.UUID,
    *,
    before: tuple[date, str] | None,
    limit: int,
) -> list[tuple[DeclaredMonth, uuid.UUID]]:
    """Contribution lines in force, newest month first, with their declaration."""
    query = _in_force(affiliate_id)
    if before is not None:
        month, declaration = before
        query = query.where(
            (ContributionLine.period < month)
            | (
                (ContributionLine.period == month)
                & (ContributionLine.declaration_id < uuid.UUID(declaration))
            )
        )
    query = query.order_by(
        ContributionLine.period.desc(), ContributionLine.declaration_id.desc()
    ).limit(limit)
    rows = (await session.execute(query)).all()
    return [(_declared(row), row[0].declaration_id) for row in rows]


SIMULATION_INPUT = """
SELECT a.id, a.status, a.regime, a.birth_date,
       (SELECT coalesce(json_agg(json_build_array(p.start_date, p.end_date,
                                                  p.monthly_salary::text, p.days)), '[]')
        FROM pensions.career_periods AS p WHERE p.affiliate_id = a.id) AS recorded,
       (SELECT coalesce(json_agg(json_build_array(l.period, l.gross_salary::text,
                                                  l.days_worked)), '[]')
        FROM pensions.contribution_lines AS l
        JOIN pensions.declarations AS d ON d.id = l.declaration_id AND d.current
        WHERE l.affiliate_id = a.id) AS declared
FROM pensions.affiliates AS a
WHERE a.cin = $1
"""


@dataclass(frozen=True, slots=True)
class SimulationInput:
    """What a simulation reads of a file, fetched in one statement."""

    status: str
    regime: RegimeCode
    birth_date: date | None
    recorded: list[Recorded]
    declared: list[Declared]


async def simulation_input(connection: Any, cin: str) -> SimulationInput | None:
    """The affiliate holding `cin` and their whole career, in one round trip (simulations
    are frequent and read-only)."""
    row = await connection.fetchrow(SIMULATION_INPUT, cin)
    if row is None:
        return None
    day = date.fromisoformat
    return SimulationInput(
        status=row["status"],
        regime=RegimeCode(row["regime"]),
        birth_date=row["birth_date"],
        recorded=[
            (day(start), day(end), Decimal(salary), days)
            for start, end, salary, days in _json(row["recorded"])
        ],
        declared=[
            (day(period), Decimal(salary), days) for period, salary, days in _json(row["declared"])
        ],
    )


def _json(value: Any) -> Any:
    # SQLAlchemy's pool gives asyncpg a json codec; a bare connection would give text.
    return orjson.loads(value) if isinstance(value, str | bytes) else value
