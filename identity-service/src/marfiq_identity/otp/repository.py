"""Every query on challenges and on the sending and guessing counters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, delete, func, null, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.otp.models import OtpAddressCount, OtpChallenge, OtpFailureCount


async def lock_key(session: AsyncSession, key: str) -> None:
    """Serialise, until the transaction ends, everything done for one contact (or CIN)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


async def recent_sends(
    session: AsyncSession, *, destination: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many codes went to `destination` since `since`, and when the last one did."""
    row = (
        await session.execute(
            select(func.count(), func.max(OtpChallenge.created_at)).where(
                OtpChallenge.destination == destination, OtpChallenge.created_at > since
            )
        )
    ).one()
    return int(row[0]), row[1]


async def throttled_until(session: AsyncSession, subjects: Sequence[str]) -> datetime | None:
    """The latest instant until which any of `subjects` must wait, if any."""
    found: datetime | None = await session.scalar(
        select(func.max(OtpFailureCount.throttled_until)).where(
            OtpFailureCount.subject.in_(subjects)
        )
    )
    return found


async def count_address_request(
    session: AsyncSession, *, address: str, window_start: datetime
) -> int:
    """Add one request of `address` to its current window; the window's count after it."""
    statement = (
        insert(OtpAddressCount)
        .values(address=address, window_start=window_start, requests=1)
        .on_conflict_do_update(
            index_elements=[OtpAddressCount.address, OtpAddressCount.window_start],
            set_={"requests": OtpAddressCount.requests + 1},
        )
        .returning(OtpAddressCount.requests)
    )
    return int((await session.execute(statement)).scalar_one())


def add_challenge(session: AsyncSession, challenge: OtpChallenge) -> None:
    session.add(challenge)


async def challenge_for_update(
    session: AsyncSession, challenge_id: uuid.UUID
) -> OtpChallenge | None:
    return await session.get(OtpChallenge, challenge_id, with_for_update=True)


async def record_failure(
    session: AsyncSession,
    *,
    subjects: Sequence[str],
    now: datetime,
    stale_before: datetime,
    limit: int,
    throttled_until: datetime,
) -> None:
    """Count one more consecutive failure for each subject (restarting stale counts);
    reaching `limit` throttles the subject until `throttled_until`."""
    table = OtpFailureCount.__table__
    first = {"failures": 1, "last_failure_at": now}
    rows = [
        {"subject": subject, **first, "throttled_until": throttled_until if limit <= 1 else None}
        for subject in subjects
    ]
    # In ON CONFLICT DO UPDATE the table's columns are the row already stored.
    failures = case((table.c.last_failure_at < stale_before, 1), else_=table.c.failures + 1)
    statement = (
        insert(table)
        .values(rows)
        .on_conflict_do_update(
            index_elements=[table.c.subject],
            set_={
                "failures": failures,
                "last_failure_at": now,
                "throttled_until": case((failures >= limit, throttled_until), else_=null()),
            },
        )
    )
    await session.execute(statement)


async def clear_failures(session: AsyncSession, subjects: Sequence[str]) -> None:
    """A right code ends the run of consecutive failures."""
    await session.execute(delete(OtpFailureCount).where(OtpFailureCount.subject.in_(subjects)))


async def prune(
    session: AsyncSession,
    *,
    challenges_before: datetime,
    counts_before: datetime,
    failures_before: datetime,
) -> None:
    """Forget challenges and counters that can no longer matter."""
    await session.execute(delete(OtpChallenge).where(OtpChallenge.created_at < challenges_before))
    await session.execute(
        delete(OtpAddressCount).where(OtpAddressCount.window_start < counts_before)
    )
    await session.execute(
        delete(OtpFailureCount).where(
            OtpFailureCount.last_failure_at < failures_before,
            func.coalesce(OtpFailureCount.throttled_until, OtpFailureCount.last_failure_at)
            < failures_before,
        )
    )
