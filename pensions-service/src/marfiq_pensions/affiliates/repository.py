"""Every query on affiliates."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

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


async def resolve(connection: Any, cins: Sequence[str], numbers: Sequence[str]) -> list[Any]:
    """Affiliates holding any of these CINs or affiliation numbers."""
    return list(
        await connection.fetch(
            """
            SELECT id, cin, affiliation_number, regime, status, phone,
                   last_name IS NULL AS no_last_name, first_name IS NULL AS no_first_name,
                   birth_date IS NULL AS no_birth_date
            FROM pensions.affiliates
            WHERE cin = ANY($1::text[]) OR affiliation_number = ANY($2::text[])
            """,
            list(cins),
            list(numbers),
        )
    )


NewAffiliate = tuple[str, str | None, str | None, date | None, str | None]


async def insert_new(
    connection: Any, people: Sequence[NewAffiliate], *, regime: str, now: datetime
) -> dict[str, tuple[uuid.UUID, str]]:
    """Affiliate people (cin, last name, first name, birth date, phone) not yet known;
    the id and number of each CIN, whether this call or a concurrent one created it."""
    if not people:
        return {}
    cins, last_names, first_names, births, phones = (
        list(column) for column in zip(*people, strict=True)
    )
    # Ids are time-ordered UUIDs (version 7: milliseconds, then random bits) made by
    # Postgres: they land at the end of the primary key's index rather than on a random page
    # of it, which makes creating thousands of affiliates about a third cheaper.
    created = await connection.fetch(
        """
        INSERT INTO pensions.affiliates (id, cin, last_name, first_name, birth_date, regime,
                                         phone, created_at, updated_at)
        SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING
                   substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)
                                      ::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1),
                      'hex')::uuid,
               u.cin, u.last_name, u.first_name, u.birth_date, $6, u.phone, $7, $7
        FROM unnest($1::text[], $2::text[], $3::text[], $4::date[], $5::text[])
             AS u(cin, last_name, first_name, birth_date, phone)
        ON CONFLICT (cin) DO NOTHING
        RETURNING id, cin, affiliation_number
        """,
        cins,
        last_names,
        first_names,
        births,
        phones,
        regime,
        now,
    )
    found = {row["cin"]: (row["id"], row["affiliation_number"]) for row in created}
    if len(found) < len(people):  # created meanwhile by another declaration's chunk
        missing = [cin for cin in cins if cin not in found]
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
