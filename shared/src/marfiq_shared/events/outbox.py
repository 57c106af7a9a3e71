"""The transactional outbox: events are rows written in the caller's transaction."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from marfiq_shared.events.catalogue import EventData
from marfiq_shared.events.envelope import CloudEvent, current_correlation_id
from marfiq_shared.tracing import current_traceparent

log = logging.getLogger(__name__)

# session.info keys: the first two are set by `Database`, the last by `add_event`.
SOURCE_KEY = "marfiq_source"
OUTBOX_KEY = "marfiq_outbox"
_DIRTY_KEY = "marfiq_outbox_dirty"


def outbox_table(metadata: MetaData, name: str = "outbox") -> Table:
    """The outbox table of one service, in that service's metadata (and migrations)."""
    table = Table(
        name,
        metadata,
        Column("id", Uuid, primary_key=True),  # the CloudEvent id
        Column("type", String(255), nullable=False),
        Column("subject", String(255)),
        # The full envelope as JSON bytes: the relay sends it byte for byte, no re-encoding.
        # Operators read it with convert_from(payload, 'UTF8')::jsonb.
        Column("payload", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default="0"),
    )
    # The relay's only query: the oldest unpublished rows. A partial index stays as small as
    # the backlog, however many published rows are kept for inspection.
    Index(
        f"ix_{name}_unpublished",
        table.c.created_at,
        postgresql_where=table.c.published_at.is_(None),
    )
    # Pruning of old published rows; BRIN because published_at only grows.
    Index(f"ix_{name}_published_at", table.c.published_at, postgresql_using="brin")
    return table


async def add_event(
    session: AsyncSession,
    data: EventData,
    *,
    subject: str | None = None,
    correlation_id: str | None = None,
    traceparent: str | None = None,
) -> CloudEvent:
    """Record an event in the caller's transaction; it is published after the commit."""
    envelope, row = _pending(session, data, subject, correlation_id, traceparent)
    await session.execute(session.info[OUTBOX_KEY].insert(), row)
    return envelope


def outbox_row(data: EventData, *, source: str, subject: str | None) -> dict[str, Any]:
    """The outbox row of an event, for a hot path that inserts it in a statement of its own
    (a CTE next to the change, one round trip) on a driver transaction, which then sets
    `wrote_events` so that the relay is woken after the commit."""
    return _row(_envelope(source, data, subject, None, None), subject)


def _pending(
    session: AsyncSession,
    data: EventData,
    subject: str | None,
    correlation_id: str | None,
    traceparent: str | None,
) -> tuple[CloudEvent, dict[str, Any]]:
    source = session.info.get(SOURCE_KEY)
    if not source or session.info.get(OUTBOX_KEY) is None:
        raise RuntimeError("this session has no outbox: build Database(..., outbox=...)")
    envelope = _envelope(source, data, subject, correlation_id, traceparent)
    _install_commit_hook()
    session.info[_DIRTY_KEY] = True
    return envelope, _row(envelope, subject)


def _envelope(
    source: str,
    data: EventData,
    subject: str | None,
    correlation_id: str | None,
    traceparent: str | None,
) -> CloudEvent:
    return CloudEvent(
        source=source,
        type=data.type,
        subject=subject,
        data=data.model_dump(mode="json"),
        correlationid=correlation_id or current_correlation_id.get(),
        traceparent=traceparent or current_traceparent.get(),
    )


def _row(envelope: CloudEvent, subject: str | None) -> dict[str, Any]:
    return {
        "id": UUID(envelope.id),
        "type": envelope.type,
        "subject": subject,
        "payload": envelope.to_json(),
        "created_at": envelope.time,
    }


# --- waking the relay -------------------------------------------------------------------
# The relay polls, but polling alone would make the poll interval the latency of every
# event. After a commit that wrote outbox rows, the relays of that source in this process
# are told at once. Losing a wake-up is harmless: the next poll finds the rows.

_wakers: defaultdict[str, set[Callable[[], None]]] = defaultdict(set)
_hook_installed = False


def on_outbox_commit(source: str, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after each commit that wrote events of `source`; returns an undo."""
    _wakers[source].add(callback)
    return lambda: _wakers[source].discard(callback)


def wake_relays(source: str) -> None:
    """Tell this process's relays of `source` that committed rows wait (after a commit)."""
    for callback in tuple(_wakers.get(source, ())):
        try:
            callback()
        except Exception:  # a wake-up must never fail a commit that already happened
            log.exception("outbox wake-up failed")


def take_written_events(session: AsyncSession | Session) -> bool:
    """Whether events were added through `session` since its last commit, forgetting it:
    for a session joined to a transaction its owner commits later (a savepoint's release
    is no commit), who then wakes the relays itself."""
    return bool(session.info.pop(_DIRTY_KEY, False))


def _after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY_KEY, False):
        wake_relays(session.info.get(SOURCE_KEY, ""))


def _after_rollback(session: Session, previous: SessionTransaction) -> None:
    # Rolled-back rows are gone; only a rollback of the whole transaction clears the mark
    # (after a savepoint rollback the outer transaction may still hold events).
    if previous.parent is None:
        session.info.pop(_DIRTY_KEY, None)


def _install_commit_hook() -> None:
    # Installed on first use rather than at import: importing the library changes nothing.
    global _hook_installed
    if not _hook_installed:
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
        _hook_installed = True


# --- operations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """How far the relay is behind."""

    count: int
    oldest_age_seconds: float


async def outbox_backlog(session: AsyncSession, outbox: Table) -> OutboxBacklog:
    """Unpublished rows and the age of the oldest (served by the partial index)."""
    unpublished = outbox.c.published_at.is_(None)
    row = (
        await session.execute(
            select(func.count(), func.min(outbox.c.created_at)).where(unpublished)
        )
    ).one()
    count, oldest = row
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxBacklog(count=count, oldest_age_seconds=max(age, 0.0))


async def prune_outbox(session: AsyncSession, outbox: Table, *, older_than: timedelta) -> int:
    """Delete rows published more than `older_than` ago; returns how many."""
    cutoff = datetime.now(UTC) - older_than
    result = await session.execute(delete(outbox).where(outbox.c.published_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]
