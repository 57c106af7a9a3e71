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
from marfiq_shared.settings import Language


async def connection_of(session: Executor) -> Any:
    """The driver connection of the caller's transaction, the session's pending ORM changes
    flushed first so that statements sent past it see them (a contact changed earlier in
    the batch)."""
    if isinstance(session, AsyncSession) and (session.new or session.dirty or session.deleted):
        await session.flush()
    return await driver(session)


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


# A requested notification in one round trip: the recipient's contacts and language are
# read and its deliveries queued by the same statement (`queue_notice` does the same in two
# for the callers that hold an account already). Texts come in every language, the one of
# the account is chosen here; channels are the wanted ones the account has a contact for.
_QUEUE_REQUESTED = """
WITH recipient AS (
    SELECT id, phone, email, language FROM identity.accounts
    WHERE {column} = $1 AND disabled_at IS NULL
), queued AS (
    INSERT INTO identity.deliveries (id, event_id, account_id, kind, channel, destination,
        language, subject, body, created_at, next_attempt_at, attempts)
    SELECT gen_random_uuid(), $2::uuid, r.id, $3::text, w.channel, w.destination,
        r.language, t.subject, t.body, $4::timestamptz, $4::timestamptz, 0
    FROM recipient AS r
    CROSS JOIN LATERAL (VALUES ('sms', r.phone, $5::bool), ('email', r.email, $6::bool))
        AS w(channel, destination, wanted)
    JOIN (VALUES ('ar', $7::text, $8::text), ('fr', $9::text, $10::text),
        ('en', $11::text, $12::text)) AS t(language, subject, body) ON t.language = r.language
    WHERE w.wanted AND w.destination IS NOT NULL
    ON CONFLICT (event_id, channel) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT FROM recipient), (SELECT count(*) FROM queued)
"""
_QUEUE_REQUESTED_BY_ID = _QUEUE_REQUESTED.format(column="id")
_QUEUE_REQUESTED_BY_CIN = _QUEUE_REQUESTED.format(column="cin")
# The order of the texts `queue_requested` takes.
TEXT_LANGUAGES: tuple[Language, ...] = ("ar", "fr", "en")


async def queue_requested(
    session: Executor,
    *,
    sub: uuid.UUID | None,
    cin: str | None,
    event_id: uuid.UUID,
    kind: str,
    sms: bool,
    email: bool,
    texts: Sequence[tuple[str, str]],
    now: datetime,
) -> tuple[bool, int]:
    """Queue a requested notification for the enabled account named by `sub` (or else by
    its proven `cin`): on SMS and e-mail as wanted and as it has them, with the subject and
    text of its language (`texts` in TEXT_LANGUAGES order), once per event and channel.
    Whether the account was found, and how many deliveries were queued."""
    if sub is None and cin is None:
        return False, 0
    statement = _QUEUE_REQUESTED_BY_ID if sub is not None else _QUEUE_REQUESTED_BY_CIN
    connection = await connection_of(session)
    found, queued = await connection.fetchrow(
        statement,
        sub if sub is not None else cin,
        event_id,
        kind,
        now,
        sms,
        email,
        *(part for pair in texts for part in pair),
    )
    return bool(found), int(queued)


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
