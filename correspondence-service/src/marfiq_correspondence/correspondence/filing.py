"""The two statements of a person's filing, sent straight to asyncpg.

A citizen's letter is the hot path of the service (every one is followed by its receipt):
on an ORM session it took eight round trips (BEGIN, recipient, files, number, the
registration, two outbox rows, COMMIT) and about as much CPU again in SQLAlchemy. Here it
is BEGIN, `open_registration` (recipient, files and number in one statement), then
`write_registration` (the letter, its receipt's registry entry, its documents, its first
timeline entry, its events and partners' webhook deliveries in one statement), COMMIT.
The register's counter row is locked from the first statement to the commit, as before.

Agents' letters stay on the ORM path (`service.register`): they number in two registers,
whose order matters (outgoing before incoming, so that two administrations writing to
each other never wait on each other).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from marfiq_correspondence.registers.numbers import Register
from marfiq_correspondence.webhooks.queueing import delivery_arguments
from marfiq_correspondence.webhooks.repository import queue_statement
from marfiq_correspondence.webhooks.wakeup import note_queued
from marfiq_shared.db import DriverTransaction
from marfiq_shared.events.catalogue import CorrespondenceEvent, EventData
from marfiq_shared.events.outbox import outbox_row

# Nothing is written unless the recipient is an active administration, and no number is
# taken unless every file named was attached (the caller then raises, which rolls the
# transaction back).
_OPEN = """
WITH recipient AS (
    SELECT id, code, name_ar, name_fr FROM correspondence.administrations
    WHERE id = $1 AND active
), attached AS (
    UPDATE correspondence.files SET attached_at = $2
    WHERE id = ANY($3::uuid[]) AND owner_sub = $4 AND attached_at IS NULL
        AND EXISTS (SELECT FROM recipient)
    RETURNING id, filename, sha256, size
), number AS (
    INSERT INTO correspondence.register_counters AS counter
        (administration_id, year, register, next_value)
    SELECT id, $5, $6, 2 FROM recipient
    WHERE (SELECT count(*) FROM attached) = cardinality($3::uuid[])
    ON CONFLICT (administration_id, year, register)
        DO UPDATE SET next_value = counter.next_value + 1
    RETURNING counter.next_value - 1 AS sequence
)
SELECT recipient.id, recipient.code, recipient.name_ar, recipient.name_fr,
    (SELECT sequence FROM number) AS sequence,
    (SELECT coalesce(array_agg(id), '{}') FROM attached) AS file_ids,
    (SELECT coalesce(array_agg(filename), '{}') FROM attached) AS filenames,
    (SELECT coalesce(array_agg(sha256), '{}') FROM attached) AS sha256s,
    (SELECT coalesce(array_agg(size), '{}') FROM attached) AS sizes
FROM recipient
"""


@dataclass(frozen=True, slots=True)
class AttachedFile:
    id: uuid.UUID
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Opened:
    """The recipient's code and names, the files attached, and the number taken (None
    when some file could not be attached: nothing is numbered then)."""

    recipient: dict[str, Any]
    files: list[AttachedFile]
    sequence: int | None


async def open_registration(
    transaction: DriverTransaction,
    *,
    recipient_id: uuid.UUID,
    file_ids: Sequence[uuid.UUID],
    owner_sub: str,
    year: int,
    now: datetime,
) -> Opened | None:
    """Begin the transaction, attach the person's files and take the next number of the
    recipient's incoming register; None when the recipient is unknown or inactive."""
    connection = await transaction.begin()
    row = await connection.fetchrow(
        _OPEN, recipient_id, now, list(file_ids), owner_sub, year, Register.INCOMING.value
    )
    if row is None:
        return None
    files = [
        AttachedFile(*item)
        for item in zip(
            row["file_ids"], row["filenames"], row["sha256s"], row["sizes"], strict=True
        )
    ]
    recipient = {name: row[name] for name in ("id", "code", "name_ar", "name_fr")}
    return Opened(recipient, files, row["sequence"])


_LETTER = (
    "id",
    "case_id",
    "registration_number",
    "register_year",
    "register_sequence",
    "administration_id",
    "sender_kind",
    "sender_sub",
    "sender_name",
    "sender_cin",
    "company_ice",
    "company_name",
    "sender_administration_id",
    "subject",
    "body",
    "status",
    "receipt_code",
    "registered_at",
    "updated_at",
    "version",
)
_RECEIPT = (
    "code",
    "kind",
    "issuer_administration_id",
    "issuer_name_fr",
    "issuer_name_ar",
    "issued_at",
    "reference",
    "correspondence_id",
    "content",
)
_TIMELINE = (
    "correspondence_id",
    "at",
    "action",
    "actor_role",
    "actor_id",
    "from_state",
    "to_state",
    "internal",
    "message",
    "details",
)
# Rows of several documents and events go as one array per column (unnest).
_DOCUMENTS = {
    "id": "uuid",
    "correspondence_id": "uuid",
    "kind": "text",
    "file_id": "uuid",
    "issued_code": "text",
    "added_by_role": "text",
    "added_at": "timestamptz",
}
_EVENTS = {
    "id": "uuid",
    "type": "text",
    "subject": "text",
    "payload": "bytea",
    "created_at": "timestamptz",
}


def _placeholders(start: int, count: int) -> str:
    return ", ".join(f"${n}" for n in range(start, start + count))


def _unnest(start: int, types: dict[str, str]) -> str:
    arrays = ", ".join(f"${start + n}::{kind}[]" for n, kind in enumerate(types.values()))
    names = ", ".join(types)
    # Built once at import from the constants above, never from a request.
    return f"SELECT {names} FROM unnest({arrays}) WITH ORDINALITY AS t({names}, n) ORDER BY n"  # noqa: S608


def _write_sql() -> str:
    receipt_at = len(_LETTER) + 1
    timeline_at = receipt_at + len(_RECEIPT)
    documents_at = timeline_at + len(_TIMELINE)
    events_at = documents_at + len(_DOCUMENTS)
    deliveries_at = events_at + len(_EVENTS)
    # Foreign keys are checked at the statement's end, so the order of the inserts does
    # not matter to them; the documents keep their order (the identity column `seq`).
    # Built once at import from the constants above, never from a request.
    return f"""
WITH receipt AS (
    INSERT INTO correspondence.issued_documents ({", ".join(_RECEIPT)})
    VALUES ({_placeholders(receipt_at, len(_RECEIPT))})
), first_step AS (
    INSERT INTO correspondence.timeline ({", ".join(_TIMELINE)})
    VALUES ({_placeholders(timeline_at, len(_TIMELINE))})
), papers AS (
    INSERT INTO correspondence.documents ({", ".join(_DOCUMENTS)})
    {_unnest(documents_at, _DOCUMENTS)}
), events AS (
    INSERT INTO correspondence.outbox ({", ".join(_EVENTS)})
    {_unnest(events_at, _EVENTS)}
), deliveries AS (
    {queue_statement(deliveries_at)}
    RETURNING 1
)
INSERT INTO correspondence.correspondence ({", ".join(_LETTER)})
VALUES ({_placeholders(1, len(_LETTER))})
RETURNING (SELECT count(*) FROM deliveries)
"""  # noqa: S608


_WRITE = _write_sql()
_JSON = frozenset({"content", "details"})


def _value(row: dict[str, Any], name: str) -> Any:
    value = row[name]
    # JSONB parameters go to the driver as text (SQLAlchemy's codec on these connections).
    return orjson.dumps(value).decode() if name in _JSON else value


async def write_registration(
    transaction: DriverTransaction,
    *,
    letter: dict[str, Any],
    receipt: dict[str, Any],
    documents: Sequence[dict[str, Any]],
    timeline: dict[str, Any],
    events: Sequence[tuple[EventData, str]],
) -> None:
    """Write a numbered letter with its receipt, documents, first step, events and
    partners' webhook deliveries of its registration, in the transaction
    `open_registration` began. `events` hold exactly one step event (the registration)."""
    outbox = [outbox_row(data, source=transaction.source, subject=s) for data, s in events]
    (step,) = (
        delivery_arguments(row, data)
        for row, (data, _) in zip(outbox, events, strict=True)
        if isinstance(data, CorrespondenceEvent)
    )
    arguments = [
        *(_value(letter, name) for name in _LETTER),
        *(_value(receipt, name) for name in _RECEIPT),
        *(_value(timeline, name) for name in _TIMELINE),
        *([item[name] for item in documents] for name in _DOCUMENTS),
        *([item[name] for item in outbox] for name in _EVENTS),
        *step,
    ]
    connection = await transaction.begin()
    if await connection.fetchval(_WRITE, *arguments):
        note_queued()
    transaction.wrote_events = True
