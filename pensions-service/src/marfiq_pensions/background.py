"""A background loop inside the service: a job run now and then, or at once when woken.

Every replica runs the same loops; the jobs themselves are safe to run concurrently (they
claim their work with row locks), so nothing elects a leader.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger("marfiq.pensions.background")

# One pass of a job: True when it did some work and may have more waiting.
Job = Callable[[], Awaitable[bool]]


class Loop:
    def __init__(self, name: str, job: Job, *, interval_s: float) -> None:
        self.name = name
        self._job = job
        self._interval = interval_s
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        """Run the job now rather than at the next interval (a lost wake-up is harmless)."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            task, self._task = self._task, None
            # A job in the middle of a transaction is cancelled: it rolls back, and the work
            # it held is claimed again by the next pass, here or in another replica.
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            busy = False
            try:
                busy = await self._job()
            except Exception:
                log.exception("%s failed; trying again at the next pass", self.name)
            if busy:
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval)
