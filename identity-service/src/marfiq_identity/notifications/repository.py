"""Every query on queued notifications.

Straight through the driver, with statements of one text whatever the number of rows
(arrays, so asyncpg prepares each once per connection): a requested notification and its
delivery cost a few statements each, and through SQLAlchemy's statement layer (the multi-row
VALUES was compiled anew on every call) they cost several milliseconds of CPU per
notification, more than the gateway spends on the whole submission that asked for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.notifications.models import Delivery
from marfiq_identity.raw import Executor, driver


@dataclass(frozen=True, slots=True)
class Recipient:
    """The contacts and language of an account that can still be told something."""

    id: uuid.UUID
    phone: str | None
    email: str | None
    language: str


_RECIPIENT = (
    "SELECT id, phone, email, language FROM identity.accounts "
    "WHERE {column} = $1 AND disabled_at IS NULL"
)
_RECIPIENT_BY_ID = _RECIPIENT.format(column="id")
_RECIPIENT_BY_CIN = _RECIPIENT.format(column="cin")


async def connection_of(session: Executor) -> Any:
    """The driver connection of the caller's transaction, the session's pending ORM changes
    flushed first so that statements sent past it see them (a contact changed earlier in
    the batch). Pass it on to the calls that follow: finding it costs about as much CPU as
    a statement."""
    if isinstance(session, AsyncSession) and (session.new or session.dirty or session.deleted):
        await session.flush()
    return await driver(session)


async def reachable_recipient(
    session: Executor, *, sub: uuid.UUID | None = None, cin: str | None = None
) -> Recipient | None:
    """The enabled account named by its id (`sub`) or its proven CIN; None if there is none."""
    if sub is None and cin is None:
        return None
    connection = await connection_of(session)
    if sub is not None:
        row = await connection.fetchrow(_RECIPIENT_BY_ID, sub)
    else:
        row = await connection.fetchrow(_RECIPIENT_BY_CIN, cin)
    return None if row is None else Recipient(*row)


# Arrays, in the order of QUEUED_COLUMNS: one statement text for any number of rows.
_ADD_UNLESS_PRESENT = """
INSERT INTO identity.deliveries (id, event_id, account_id, kind, channel, destination,
    language, subject, body, created_at, next_attempt_at, attempts)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
    $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::int[])
ON CONFLICT (event_id, channel) DO NOTHING
RETURNING id
"""
QUEUED_COLUMNS = (
    "id",
    "event_id",
    "account_id",
    "kind",
    "channel",
    "destination",
    "language",
    "subject",
    "body",
    "created_at",
    "next_attempt_at",
    "attempts",
)


async def add_unless_present(session: Executor, rows: Sequence[dict[str, Any]]) -> int:
    """Queue deliveries; one already queued for the same event and channel is skipped.
    How many were queued."""
    if not rows:
        return 0
    connection = await connection_of(session)
    columns = [[row[name] for row in rows] for name in QUEUED_COLUMNS]
    return len(await connection.fetch(_ADD_UNLESS_PRESENT, *columns))


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed delivery: what the postman needs, and how many times it was tried."""

    id: uuid.UUID
    channel: str
    destination: str
    language: str
    subject: str
    body: str
    attempts: int


# One statement, atomic on its own: the lease is taken (and committed) before anything is
# sent, and a replica's claim skips the rows another replica is claiming.
_CLAIM_DUE = """
UPDATE identity.deliveries SET next_attempt_at = $2, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM identity.deliveries
    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING id, channel, destination, language, subject, body, attempts
"""


async def claim_due(
    session: Executor, *, now: datetime, lease_until: datetime, limit: int
) -> list[Due]:
    """Take up to `limit` due deliveries until `lease_until` (other replicas skip them)."""
    connection = await connection_of(session)
    return [Due(*row) for row in await connection.fetch(_CLAIM_DUE, now, lease_until, limit)]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a claimed delivery: each time given is written, None keeps the column
    (a row sent by another replica meanwhile stays sent)."""

    id: uuid.UUID
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    failed_at: datetime | None = None


_RECORD = """
UPDATE identity.deliveries AS d SET
    sent_at = coalesce(o.sent_at, d.sent_at),
    next_attempt_at = coalesce(o.next_attempt_at, d.next_attempt_at),
    failed_at = coalesce(o.failed_at, d.failed_at)
FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[])
    AS o(id, sent_at, next_attempt_at, failed_at)
WHERE d.id = o.id
"""


async def record(session: Executor, outcomes: Sequence[Outcome]) -> None:
    """Write the outcomes of a batch (sent, retried later, given up) in one statement."""
    if not outcomes:
        return
    connection = await connection_of(session)
    await connection.execute(
        _RECORD,
        [o.id for o in outcomes],
        [o.sent_at for o in outcomes],
        [o.next_attempt_at for o in outcomes],
        [o.failed_at for o in outcomes],
    )


async def prune(session: AsyncSession, *, before: datetime) -> None:
    """Forget deliveries sent or given up on before `before`."""
    await session.execute(
        delete(Delivery).where(or_(Delivery.sent_at < before, Delivery.failed_at < before))
    )
