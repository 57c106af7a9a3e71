"""Waking this process's webhook dispatchers after a commit that queued deliveries.

Deliveries are queued in the transaction of the step that caused them, next to the step's
event in the outbox; so a commit that queued some is always a commit that wrote events, and
the outbox already says when that happens (`on_outbox_commit`, for ORM sessions and driver
transactions alike). Whether this unit of work queued deliveries is a context variable:
the queueing code and the commit run in the same task (the request's, or the consumer's),
and SQLAlchemy runs the commit hooks in that task's context. Without the mark, every filing
would wake the dispatchers for a scan that finds nothing. Other replicas find the rows by
polling; a lost wake-up (a commit hook on another thread) costs at most one poll interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar

from marfiq_shared.events.outbox import on_outbox_commit

_queued: ContextVar[bool] = ContextVar("marfiq_webhook_deliveries_queued", default=False)
_dispatchers: defaultdict[str, set[Callable[[], None]]] = defaultdict(set)
_hooked: set[str] = set()


def note_queued() -> None:
    """Deliveries were queued in the current unit of work: wake the dispatchers after its
    commit. (A rollback leaves the mark: the next commit then wakes them for nothing.)"""
    _queued.set(True)


def on_deliveries_committed(source: str, callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after each commit of `source` that queued deliveries; returns an
    undo."""
    if source not in _hooked:
        # One hook per source, which wakes them all: the mark is cleared once per commit.
        on_outbox_commit(source, lambda: _after_events_commit(source))
        _hooked.add(source)
    _dispatchers[source].add(callback)
    return lambda: _dispatchers[source].discard(callback)


def _after_events_commit(source: str) -> None:
    if _queued.get():
        _queued.set(False)
        for callback in tuple(_dispatchers[source]):
            callback()
