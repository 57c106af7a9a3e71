"""A short-lived cache of statistics pages, per process.

The figures are the same for every visitor and move slowly, while one page costs a query
over every month of fifty administrations; so each page is computed at most once per
`ttl` seconds in a process, and requests arriving while a page is being computed wait for
that one computation instead of starting their own (a burst after a press article costs one
query, not hundreds). The computation runs in a task of its own, so a caller that goes away
does not cancel it for the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._running: dict[Hashable, asyncio.Task[T]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The value of `key` computed less than `ttl` ago, or the one `compute` returns."""
        if self.ttl <= 0:
            return await compute()
        found = self._entries.get(key)
        if found is not None and found[0] > self._clock():
            return found[1]
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(compute())
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: Hashable, task: asyncio.Task[T]) -> None:
        del self._running[key]
        if task.cancelled() or task.exception() is not None:
            return  # every waiter got the error; the next request tries again
        self._entries[key] = (self._clock() + self.ttl, task.result())
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
