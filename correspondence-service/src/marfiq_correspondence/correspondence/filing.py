"""A person's filing in two statements sent straight to asyncpg, the second committing by
itself: the register's lock is held inside the server only, never while a client works.

A citizen's letter is the hot path of the service (every one is followed by its receipt).
Numbers are sequential per administration and year with no gaps, so every filing to one
administration takes the same counter row lock, held until the commit. Held across client
round trips (BEGIN, the number, the writes, COMMIT), the lock also covered the service's
turns of its event loop between them: under load, letters to one administration queued
behind a holder that was waiting for its own process (at ~50 filings/s Postgres showed
most backends waiting on the lock and the holder "idle in transaction"), and a second
worker process could not add a filing a second.

So the number is taken in the statement that writes the letter, and that statement is a
transaction of its own:
1. `read_registration`: the recipient and the person's unattached files (no lock, no
   write), from which the letter, its receipt's content, its documents, its first timeline
   entry and its events are built, with a one-off token where the number goes;
2. `write_registration`: in one statement, the files are locked and attached (all or
   none), the number taken, the token replaced by it wherever it stands (columns, JSON,
   the events' payloads, partners' webhook deliveries), and everything inserted. It writes
   nothing when the recipient is no longer active or a file was attached meanwhile.
The token is 128 random bits chosen after the request arrived: no text a person sends can
hold it. With an Idempotency-Key the two run inside the request's transaction instead
(the key is claimed in it), and the lock lasts until that commit, as before.

Agents' letters stay on the ORM path (`service.register`): they number in two registers,
whose order matters (outgoing before incoming, so that two administrations writing to
each other never wait on each other).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from marfiq_correspondence.correspondence.models import Correspondence, TimelineRecord
from marfiq_correspondence.documents.models import IssuedDocument
from marfiq_correspondence.registers.numbers import DIGITS, Register
from marfiq_correspondence.webhooks.queueing import delivery_arguments
from marfiq_correspondence.webhooks.repository import queue_statement
from marfiq_correspondence.webhooks.wakeup import note_queued
from marfiq_shared.db import DriverTransaction
from marfiq_shared.events.catalogue import CorrespondenceEvent, EventData
from marfiq_shared.events.outbox import outbox_row

_READ = """
SELECT recipient.id, recipient.code, recipient.name_ar, recipient.name_fr,
    coalesce(array_agg(f.id ORDER BY f.id) FILTER (WHERE f.id IS NOT NULL), '{}') AS file_ids,
    coalesce(array_agg(f.filename ORDER BY f.id) FILTER (WHERE f.id IS NOT NULL), '{}')
        AS filenames,
    coalesce(array_agg(f.sha256 ORDER BY f.id) FILTER (WHERE f.id IS NOT NULL), '{}') AS sha256s,
    coalesce(array_agg(f.size ORDER BY f.id) FILTER (WHERE f.id IS NOT NULL), '{}') AS sizes
FROM correspondence.administrations AS recipient
LEFT JOIN correspondence.files AS f
    ON f.id = ANY($2::uuid[]) AND f.owner_sub = $3 AND f.attached_at IS NULL
WHERE recipient.id = $1 AND recipient.active
GROUP BY recipient.id
"""


@dataclass(frozen=True, slots=True)
class AttachedFile:
    id: uuid.UUID
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Readied:
    """The recipient's id, code and names, and those of the files named that the person
    may attach (some may be missing)."""

    recipient: dict[str, Any]
    files: list[AttachedFile]


async def read_registration(
    transaction: DriverTransaction,
    *,
    recipient_id: uuid.UUID,
    file_ids: Sequence[uuid.UUID],
    owner_sub: str,
) -> Readied | None:
    """The recipient and the person's unattached files among `file_ids`; None when the
    recipient is unknown or inactive. Reads only: nothing is locked."""
    row = await transaction.only(_READ, recipient_id, list(file_ids), owner_sub)
    if row is None:
        return None
    files = [
        AttachedFile(*item)
        for item in zip(
            row["file_ids"], row["filenames"], row["sha256s"], row["sizes"], strict=True
        )
    ]
    recipient = {name: row[name] for name in ("id", "code", "name_ar", "name_fr")}
    return Readied(recipient, files)


def number_token() -> str:
    """What stands for the number until the statement that takes it replaces it."""
    return secrets.token_hex(16)


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


# Taken by the statement itself, with the number (the rest comes from the request).
_NUMBERED = {"registration_number": "numbered.text", "register_sequence": "numbered.sequence"}
_LETTER_PASSED = tuple(name for name in _LETTER if name not in _NUMBERED)


def _cast(table: Table, column: str) -> str:
    """The type of a parameter inserted into `column` by INSERT ... SELECT (which, unlike
    VALUES, does not take it from the column); without its length, since a cast to
    varchar(n) would cut a value short where the column's own check refuses it."""
    compiled = table.c[column].type
    return re.sub(r"\(\d+\)", "", compiled.compile(dialect=postgresql.dialect()))


def _selected(
    table: Table,
    columns: Sequence[str],
    start: int,
    *,
    taken: Mapping[str, str] | None = None,
    numbered_json: Collection[str] = (),
) -> tuple[str, int]:
    """The SELECT list inserting `columns` from parameters `$start`...: a column of
    `taken` is the SQL expression given (no parameter), one of `numbered_json` its JSON
    parameter with the number in place of the token; and the next free parameter number."""
    items = []
    for name in columns:
        if taken and name in taken:
            items.append(taken[name])
            continue
        if name in numbered_json:
            items.append(_numbered(_TOKEN, f"${start}::text") + "::jsonb")
        else:
            items.append(f"${start}::{_cast(table, name)}")
        start += 1
    return ", ".join(items), start


def _unnest(start: int, types: dict[str, str], **taken: str) -> str:
    arrays = ", ".join(f"${start + n}::{kind}[]" for n, kind in enumerate(types.values()))
    names = ", ".join(types)
    chosen = ", ".join(taken.get(name, name) for name in types)
    # Built once at import from the constants above, never from a request.
    return (
        f"SELECT {chosen} FROM unnest({arrays}) WITH ORDINALITY AS t({names}, n), numbered "  # noqa: S608
        "ORDER BY n"
    )


def _numbered(token: str, text: str) -> str:
    """`text` (SQL of type text) with the number in place of the token."""
    return f"replace({text}, {token}, numbered.text)"


# $1 recipient, $2 files, $3 owner, $4 now, $5 year, $6 register, $7 the number's token.
_FIXED = 7
_TOKEN = "$7"


def _write_sql() -> str:
    letter, at = _selected(Correspondence.__table__, _LETTER, _FIXED + 1, taken=_NUMBERED)
    receipt, at = _selected(
        IssuedDocument.__table__,
        _RECEIPT,
        at,
        taken={"reference": "numbered.text"},
        numbered_json=("content",),
    )
    timeline, at = _selected(TimelineRecord.__table__, _TIMELINE, at, numbered_json=("details",))
    documents_at = at
    events_at = documents_at + len(_DOCUMENTS)
    deliveries_at = events_at + len(_EVENTS)
    payload = "convert_to(" + _numbered(_TOKEN, "convert_from(payload, 'UTF8')") + ", 'UTF8')"
    digits = f"greatest({DIGITS}, length(number.sequence::text))"
    # Every lock is taken inside this one statement, and released by its own commit: the
    # person's files (so that two filings naming one file cannot both attach it), then the
    # register's counter row. Nothing is written unless the recipient is active and every
    # file named could be attached: the writes all select from `numbered`, empty then.
    # Foreign keys are checked at the statement's end, so the order of the inserts does
    # not matter to them; the documents keep their order (the identity column `seq`).
    # Built once at import from the constants above, never from a request.
    return f"""
WITH recipient AS (
    SELECT id, upper(code) AS code FROM correspondence.administrations
    WHERE id = $1 AND active
), usable AS (
    SELECT id FROM correspondence.files
    WHERE id = ANY($2::uuid[]) AND owner_sub = $3 AND attached_at IS NULL
    FOR UPDATE
), ready AS (
    SELECT EXISTS (SELECT FROM recipient)
        AND (SELECT count(*) FROM usable) = cardinality($2::uuid[]) AS ok
), attached AS (
    UPDATE correspondence.files SET attached_at = $4
    WHERE id IN (SELECT id FROM usable) AND (SELECT ok FROM ready)
), number AS (
    INSERT INTO correspondence.register_counters AS counter
        (administration_id, year, register, next_value)
    SELECT id, $5::int, $6, 2 FROM recipient WHERE (SELECT ok FROM ready)
    ON CONFLICT (administration_id, year, register)
        DO UPDATE SET next_value = counter.next_value + 1
    RETURNING counter.next_value - 1 AS sequence
), numbered AS (
    SELECT number.sequence,
        recipient.code || '-' || $5::int || '-' || lpad(number.sequence::text, {digits}, '0')
            AS text
    FROM number, recipient
), letter AS (
    INSERT INTO correspondence.correspondence ({", ".join(_LETTER)})
    SELECT {letter} FROM numbered
), receipt AS (
    INSERT INTO correspondence.issued_documents ({", ".join(_RECEIPT)})
    SELECT {receipt} FROM numbered
), first_step AS (
    INSERT INTO correspondence.timeline ({", ".join(_TIMELINE)})
    SELECT {timeline} FROM numbered
), papers AS (
    INSERT INTO correspondence.documents ({", ".join(_DOCUMENTS)})
    {_unnest(documents_at, _DOCUMENTS)}
), events AS (
    INSERT INTO correspondence.outbox ({", ".join(_EVENTS)})
    {_unnest(events_at, _EVENTS, payload=payload)}
), deliveries AS (
    {queue_statement(deliveries_at, number_token=_TOKEN)}
    RETURNING 1
)
SELECT numbered.sequence, numbered.text AS number, (SELECT count(*) FROM deliveries) AS deliveries,
    (SELECT coalesce(array_agg(id), '{{}}') FROM usable) AS usable
FROM (SELECT) AS one LEFT JOIN numbered ON true
"""  # noqa: S608


_WRITE = _write_sql()
_JSON = frozenset({"content", "details"})


def _value(row: dict[str, Any], name: str) -> Any:
    value = row[name]
    # JSONB parameters go to the driver as text (SQLAlchemy's codec on these connections).
    return orjson.dumps(value).decode() if name in _JSON else value


@dataclass(frozen=True, slots=True)
class Written:
    """The number a filing took (None: nothing was written, since the recipient is no
    longer active or a file named was attached meanwhile), and the files it could use."""

    sequence: int | None
    number: str | None
    usable: frozenset[uuid.UUID]


async def write_registration(
    transaction: DriverTransaction,
    *,
    recipient_id: uuid.UUID,
    file_ids: Sequence[uuid.UUID],
    owner_sub: str,
    year: int,
    token: str,
    letter: dict[str, Any],
    receipt: dict[str, Any],
    documents: Sequence[dict[str, Any]],
    timeline: dict[str, Any],
    events: Sequence[tuple[EventData, str]],
) -> Written:
    """Attach the files, take the next number of the recipient's incoming register and
    write the letter with its receipt, documents, first step, events and partners'
    webhook deliveries, `token` replaced by the number everywhere; in one statement,
    committed by itself (or in the transaction begun for an Idempotency-Key).
    `events` hold exactly one step event (the registration)."""
    outbox = [outbox_row(data, source=transaction.source, subject=s) for data, s in events]
    (step,) = (
        delivery_arguments(row, data)
        for row, (data, _) in zip(outbox, events, strict=True)
        if isinstance(data, CorrespondenceEvent)
    )
    arguments = [
        recipient_id,
        list(file_ids),
        owner_sub,
        letter["registered_at"],
        year,
        Register.INCOMING.value,
        token,
        *(_value(letter, name) for name in _LETTER_PASSED),
        *(_value(receipt, name) for name in _RECEIPT if name != "reference"),
        *(_value(timeline, name) for name in _TIMELINE),
        *([item[name] for item in documents] for name in _DOCUMENTS),
        *([item[name] for item in outbox] for name in _EVENTS),
        *step,
    ]
    row = await transaction.only(_WRITE, *arguments)
    if row["sequence"] is None:
        return Written(None, None, frozenset(row["usable"]))
    if row["deliveries"]:
        note_queued()
    transaction.wrote_events = True
    return Written(row["sequence"], row["number"], frozenset(row["usable"]))
