"""Every query on challenges and on the sending and guessing counters.

The two hot paths (asking for a code, answering one) take the contact's lock and read
everything they decide on in a single round trip each (`open_challenge`, `try_code`: the
functions of migration 0008), and send their SQL straight to the driver (see
`marfiq_identity.raw`); tables are in the service's fixed schema, `identity`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, null
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.models import Account
from marfiq_identity.accounts.repository import ACCOUNT_COLUMNS
from marfiq_identity.otp.models import OtpChallenge, OtpFailureCount
from marfiq_identity.raw import Executor, driver, orm_session


async def lock_key(session: Executor, key: str) -> None:
    """Serialise, until the transaction ends, everything done for one contact (or CIN)."""
    await (await driver(session)).execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key
    )


@dataclass(frozen=True, slots=True)
class SendState:
    """What decided whether a code could go to a contact now, and whether it was opened."""

    holder_language: str | None
    throttled_until: datetime | None
    sent: int
    last_sent_at: datetime | None
    from_address: int
    oldest_from_address: datetime | None
    opened: bool


# One call, atomic by itself: see migration 0008 for what it locks and reads.
_OPEN_CHALLENGE = (
    "SELECT * FROM identity.open_otp_challenge("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
)


async def open_challenge(
    session: Executor,
    *,
    challenge_id: uuid.UUID,
    purpose: str,
    channel: str,
    destination: str,
    account_id: uuid.UUID | None,
    code_hash: bytes,
    language: str,
    client_address: str,
    now: datetime,
    expires_at: datetime,
    contact_since: datetime,
    address_since: datetime,
    cooldown_s: int,
    destination_limit: int,
    address_limit: int,
) -> SendState:
    """Under the contact's lock, read the send state and store the challenge when no limit
    refuses it (in the language of the contact's account if it has one, else `language`),
    in one round trip: the account's language, its throttling, the codes sent to the
    contact since `contact_since` and those asked from the address since `address_since`
    (counted up to the limit). A refused challenge is not written."""
    row = await (await driver(session)).fetchrow(
        _OPEN_CHALLENGE,
        challenge_id,
        purpose,
        channel,
        destination,
        account_id,
        code_hash,
        language,
        client_address,
        now,
        expires_at,
        contact_since,
        address_since,
        cooldown_s,
        destination_limit,
        address_limit,
    )
    return SendState(row[0], row[1], int(row[2]), row[3], int(row[4]), row[5], bool(row[6]))


@dataclass(frozen=True, slots=True)
class SpentTry:
    """A challenge after one more try was counted on it."""

    id: uuid.UUID
    channel: str
    destination: str
    account_id: uuid.UUID | None
    code_hash: bytes
    language: str
    attempts: int


@dataclass(frozen=True, slots=True)
class TriedCode:
    """A try counted on a challenge, and where its contact stands: its account (a snapshot,
    not attached to the session), its failure counts, the CIN an authority ties to it, and
    whether that account signed in before, and from the device named."""

    challenge: SpentTry
    holder: Account | None
    throttled_until: datetime | None
    has_failures: bool
    authoritative_cin: str | None
    signed_in_before: bool
    device_known: bool


_TRY_CODE = "SELECT * FROM identity.try_otp_code($1, $2, $3, $4, $5, $6, $7)"
_HOLDER = [(name, f"holder_{name}") for name in ACCOUNT_COLUMNS]


async def try_code(
    session: Executor,
    *,
    challenge_id: uuid.UUID,
    purpose: str,
    account_id: uuid.UUID | None,
    now: datetime,
    max_attempts: int,
    code_hash: bytes,
    device: str | None,
) -> TriedCode | None:
    """Count one try on a live challenge that has tries left, take its contact's lock
    (`lock_key`), spend the challenge when `code_hash` is its own, and read everything
    answering a code decides on: one round trip. None when there is no such challenge.

    The caller's transaction keeps the lock and the counted try; it must roll back a try
    it refuses without cost (throttled). The authoritative CIN is read here rather than by
    the assurance feature only to save a round trip.
    """
    row = await (await driver(session)).fetchrow(
        _TRY_CODE, challenge_id, purpose, account_id, now, max_attempts, code_hash, device
    )
    if row["destination"] is None:
        return None
    holder = None
    if row["holder_id"] is not None:
        holder = Account(**{name: row[column] for name, column in _HOLDER})
    return TriedCode(
        SpentTry(challenge_id, *row[:6]),
        holder,
        row["throttled_until"],
        bool(row["has_failures"]),
        row["registry_cin"],
        bool(row["signed_in_before"]),
        bool(row["device_known"]),
    )


async def get_challenge(session: Executor, challenge_id: uuid.UUID) -> OtpChallenge | None:
    return await orm_session(session).get(OtpChallenge, challenge_id)


async def record_failure(
    session: Executor,
    *,
    subjects: Sequence[str],
    now: datetime,
    stale_before: datetime,
    limit: int,
    throttled_until: datetime,
) -> None:
    """Count one more consecutive failure for each subject (restarting stale counts);
    reaching `limit` throttles the subject until `throttled_until`."""
    first = {"failures": 1, "last_failure_at": now}
    rows = [
        {"subject": subject, **first, "throttled_until": throttled_until if limit <= 1 else None}
        for subject in subjects
    ]
    # In ON CONFLICT DO UPDATE the table's columns are the row already stored.
    stored = OtpFailureCount
    failures = case((stored.last_failure_at < stale_before, 1), else_=stored.failures + 1)
    statement = (
        insert(OtpFailureCount)
        .values(rows)
        .on_conflict_do_update(
            index_elements=[stored.subject],
            set_={
                "failures": failures,
                "last_failure_at": now,
                "throttled_until": case((failures >= limit, throttled_until), else_=null()),
            },
        )
    )
    await orm_session(session).execute(statement)


async def clear_failures(session: Executor, subjects: Sequence[str]) -> None:
    """A right code ends the run of consecutive failures."""
    await orm_session(session).execute(
        delete(OtpFailureCount).where(OtpFailureCount.subject.in_(subjects))
    )


async def prune(
    session: AsyncSession,
    *,
    challenges_before: datetime,
    failures_before: datetime,
) -> None:
    """Forget challenges and counters that can no longer matter."""
    await session.execute(delete(OtpChallenge).where(OtpChallenge.created_at < challenges_before))
    await session.execute(
        delete(OtpFailureCount).where(
            OtpFailureCount.last_failure_at < failures_before,
            func.coalesce(OtpFailureCount.throttled_until, OtpFailureCount.last_failure_at)
            < failures_before,
        )
    )
