"""Every query on affiliates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates.models import Affiliate


async def by_cin(session: AsyncSession, cin: str) -> Affiliate | None:
    result = await session.execute(select(Affiliate).where(Affiliate.cin == cin))
    return result.scalar_one_or_none()


async def by_cin_for_update(session: AsyncSession, cin: str) -> Affiliate | None:
    result = await session.execute(select(Affiliate).where(Affiliate.cin == cin).with_for_update())
    return result.scalar_one_or_none()


def add(session: AsyncSession, affiliate: Affiliate) -> None:
    session.add(affiliate)


# --- set-based, for declarations ------------------------------------------------------------


_PERSON = """
    SELECT a.id, a.cin, a.affiliation_number, a.regime, a.status, a.phone,
           a.last_name IS NULL AS no_last_name, a.first_name IS NULL AS no_first_name,
           a.birth_date IS NULL AS no_birth_date
    FROM pensions.declaration_rows AS r
"""
_CHUNK = "r.declaration_id = $1 AND r.row_number BETWEEN $2 AND $3 AND r.error_code IS NULL"
RESOLVE = f"""
{_PERSON}
JOIN pensions.affiliates AS a ON a.cin = r.cin
WHERE {_CHUNK} AND r.affiliation_number IS NULL
UNION ALL
{_PERSON}
JOIN pensions.affiliates AS a ON a.affiliation_number = r.affiliation_number
WHERE {_CHUNK} AND r.affiliation_number IS NOT NULL
"""


async def resolve(
    connection: Any, declaration_id: uuid.UUID, first_row: int, last_row: int
) -> list[Any]:
    """Affiliates named by a declaration chunk's rows: by affiliation number for the rows
    that give one, by CIN for the others (the only way the worker looks them up).

    The chunk is named by its bounds, not by arrays of its CINs and numbers: the driver
    checks array parameters element by element in Python, and the rows are in the database.
    """
    return list(await connection.fetch(RESOLVE, declaration_id, first_row, last_row))


# Ids are time-ordered UUIDs (version 7: milliseconds, then random bits) made by Postgres:
# they land at the end of the primary key's index rather than on a random page of it. The
# row's values are read from the staged row, not sent again; the bounds keep the scan to
# these rows, not the whole declaration.
INSERT_NEW = """
INSERT INTO pensions.affiliates (id, cin, last_name, first_name, birth_date, regime, phone,
                                 created_at, updated_at)
SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
           substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                     FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
       r.cin, r.last_name, r.first_name, r.birth_date, $3, r.phone, $4, $4
FROM pensions.declaration_rows AS r
WHERE r.declaration_id = $1 AND r.row_number = ANY($2::int[])
  AND r.row_number BETWEEN $5 AND $6
ORDER BY r.cin
{on_conflict}
RETURNING id, cin, affiliation_number
"""
INSERT_NEW_PLAIN = INSERT_NEW.format(on_conflict="")
INSERT_NEW_SKIPPING_KNOWN = INSERT_NEW.format(on_conflict="ON CONFLICT (cin) DO NOTHING")


async def insert_new(
    connection: Any,
    declaration_id: uuid.UUID,
    people: Sequence[tuple[int, str]],
    *,
    regime: str,
    now: datetime,
) -> dict[str, tuple[uuid.UUID, str]]:
    """Affiliate the people of these staged rows (row number, CIN) not yet known, with the
    names, birth date and phone their rows give; the id and number of each CIN, whether
    this call or a concurrent one created it. Rows are inserted in CIN order."""
    if not people:
        return {}
    numbers = [row_number for row_number, _ in people]
    arguments = (declaration_id, numbers, regime, now, min(numbers), max(numbers))
    # The resolver found none of these people, so a plain insert nearly always succeeds,
    # and costs about a third less of Postgres's time than `ON CONFLICT`'s speculative
    # insertion. Another declaration's chunk may have created one of them since: then the
    # savepoint undoes the attempt and the insert goes again, skipping who exists.
    await connection.execute("SAVEPOINT new_affiliates")
    try:
        created = await connection.fetch(INSERT_NEW_PLAIN, *arguments)
    except asyncpg.UniqueViolationError:
        await connection.execute("ROLLBACK TO SAVEPOINT new_affiliates")
        created = await connection.fetch(INSERT_NEW_SKIPPING_KNOWN, *arguments)
    await connection.execute("RELEASE SAVEPOINT new_affiliates")
    found = {row["cin"]: (row["id"], row["affiliation_number"]) for row in created}
    if len(found) < len(people):  # created meanwhile by another declaration's chunk
        missing = [cin for _, cin in people if cin not in found]
        rows = await connection.fetch(
            "SELECT id, cin, affiliation_number FROM pensions.affiliates "
            "WHERE cin = ANY($1::text[])",
            missing,
        )
        found |= {row["cin"]: (row["id"], row["affiliation_number"]) for row in rows}
    return found


PersonUpdate = tuple[uuid.UUID, str | None, str | None, str | None, date | None]


async def complete(connection: Any, updates: Sequence[PersonUpdate], *, now: datetime) -> None:
    """Set the phone given (id, phone, last name, first name, birth date) and fill the
    names and birth date the fund did not have; what it had is kept."""
    if not updates:
        return
    ids, phones, last_names, first_names, births = (
        list(column) for column in zip(*updates, strict=True)
    )
    await connection.execute(
        """
        UPDATE pensions.affiliates AS a
        SET phone = coalesce(u.phone, a.phone),
            last_name = coalesce(a.last_name, u.last_name),
            first_name = coalesce(a.first_name, u.first_name),
            birth_date = coalesce(a.birth_date, u.birth_date),
            updated_at = $6, version = a.version + 1
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::date[])
             AS u(id, phone, last_name, first_name, birth_date)
        WHERE a.id = u.id
        """,
        ids,
        phones,
        last_names,
        first_names,
        births,
        now,
    )
