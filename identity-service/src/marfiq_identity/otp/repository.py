"""Every query on challenges and on the sending and guessing counters.

The two hot paths (asking for a code, answering one) read everything they decide on in a
single round trip each (`add_challenge`, `proof_state`), and send their SQL straight to the
driver (see `marfiq_identity.raw`); tables are in the service's fixed schema, `identity`.
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
    """What decides whether a code may go to a contact now."""

    holder_language: str | None
    throttled_until: datetime | None
    sent: int
    last_sent_at: datetime | None
    from_address: int
    oldest_from_address: datetime | None


_ADD_CHALLENGE = """
WITH holder AS (SELECT id, language FROM identity.accounts WHERE $COLUMN = $1::text),
recent AS (
    SELECT created_at FROM identity.otp_challenges
    WHERE client_address = $3::text AND created_at > $4::timestamptz
    ORDER BY created_at DESC LIMIT $5::int
),
added AS (
    INSERT INTO identity.otp_challenges (id, purpose, channel, destination, account_id,
        code_hash, language, client_address, created_at, expires_at, attempts)
    SELECT $6, $7, $8, $1, $9, $10, coalesce((SELECT language FROM holder), $11), $3, $12,
        $13, 0
)
SELECT
    (SELECT language FROM holder),
    (SELECT max(throttled_until) FROM identity.otp_failure_counts
        WHERE subject IN ('contact:' || $1::text, 'account:' || (SELECT id::text FROM holder))),
    (SELECT count(*) FROM identity.otp_challenges
        WHERE destination = $1::text AND created_at > $2::timestamptz),
    (SELECT max(created_at) FROM identity.otp_challenges
        WHERE destination = $1::text AND created_at > $2::timestamptz),
    (SELECT count(*) FROM recent),
    (SELECT min(created_at) FROM recent)
"""
_ADD_CHALLENGE_SQL = {
    column: _ADD_CHALLENGE.replace("$COLUMN", column) for column in ("phone", "email")
}


async def add_challenge(
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
    created_at: datetime,
    expires_at: datetime,
    contact_since: datetime,
    address_since: datetime,
    address_limit: int,
) -> SendState:
    """Store a challenge (in the language of the contact's account if it has one, else
    `language`) and return the send state as it stood before it, in one round trip: the
    contact's account language, its throttling, the codes sent to it since `contact_since`,
    and the codes asked from `address` since `address_since` (counted up to the limit).

    The caller refuses when a limit is passed, and the refusal rolls the challenge back.
    """
    column = "phone" if destination.startswith("+") else "email"
    row = await (await driver(session)).fetchrow(
        _ADD_CHALLENGE_SQL[column],
        destination,
        contact_since,
        client_address,
        address_since,
        address_limit,
        challenge_id,
        purpose,
        channel,
        account_id,
        code_hash,
        language,
        created_at,
        expires_at,
    )
    return SendState(row[0], row[1], int(row[2]), row[3], int(row[4]), row[5])


@dataclass(frozen=True, slots=True)
class ProofState:
    """The contact's account (a snapshot, not attached to the session), where its failure
    counts stand, and the CIN an authority ties to the contact, if any."""

    holder: Account | None
    throttled_until: datetime | None
    has_failures: bool
    authoritative_cin: str | None


_PROOF_STATE = """
WITH holder AS (
    SELECT id, kind, phone, email, language, cin, administration_id, roles, created_at,
        updated_at, disabled_at
    FROM identity.accounts WHERE $COLUMN = $1::text
),
failures AS (
    SELECT throttled_until FROM identity.otp_failure_counts
    WHERE subject IN ('contact:' || $1::text, 'account:' || (SELECT id::text FROM holder))
)$CONSUME
SELECT holder.*,
    (SELECT max(throttled_until) FROM failures) AS throttled_until,
    EXISTS (SELECT 1 FROM failures) AS has_failures,
    (SELECT cin FROM identity.authoritative_contacts WHERE contact = $1::text) AS registry_cin
FROM (SELECT 1) AS one LEFT JOIN holder ON true
"""
_CONSUME = """,
consumed AS (
    UPDATE identity.otp_challenges SET consumed_at = $3::timestamptz WHERE id = $2::uuid
)"""
_PROOF_STATE_SQL = {
    (column, consume): _PROOF_STATE.replace("$COLUMN", column).replace(
        "$CONSUME", _CONSUME if consume else ""
    )
    for column in ("phone", "email")
    for consume in (False, True)
}


async def proof_state(
    session: Executor,
    *,
    contact: str,
    consume: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ProofState:
    """Everything answering a code decides on, in one round trip; with `consume`, that
    challenge is spent in the same statement (a right code: the caller's refusals roll it
    back). The authoritative CIN is read here rather than by the assurance feature only
    to save that round trip."""
    column = "phone" if contact.startswith("+") else "email"
    driven = await driver(session)
    if consume is None:
        row = await driven.fetchrow(_PROOF_STATE_SQL[column, False], contact)
    else:
        row = await driven.fetchrow(_PROOF_STATE_SQL[column, True], contact, consume, now)
    holder = None
    if row["id"] is not None:
        holder = Account(**{name: row[name] for name in ACCOUNT_COLUMNS})
    return ProofState(
        holder, row["throttled_until"], bool(row["has_failures"]), row["registry_cin"]
    )


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


# The contact's lock (as `lock_key` takes it) is taken in the same statement, once the
# challenge is known: what is read after it sees everything an earlier holder committed.
_SPEND = """
UPDATE identity.otp_challenges SET attempts = attempts + 1
WHERE id = $1 AND purpose = $2 AND consumed_at IS NULL AND expires_at > $3
    AND attempts < $4 AND ($5::uuid IS NULL OR account_id = $5::uuid)
RETURNING id, channel, destination, account_id, code_hash, language, attempts,
    pg_advisory_xact_lock(hashtextextended('contact:' || destination, 0))
"""


async def spend_attempt(
    session: Executor,
    *,
    challenge_id: uuid.UUID,
    purpose: str,
    account_id: uuid.UUID | None,
    now: datetime,
    max_attempts: int,
) -> SpentTry | None:
    """Count one try on a live challenge that has tries left and return it; it and its
    contact (`lock_key`) stay locked until the transaction ends. None when there is no
    such challenge."""
    row = await (await driver(session)).fetchrow(
        _SPEND, challenge_id, purpose, now, max_attempts, account_id
    )
    return SpentTry(*row[:7]) if row is not None else None


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
