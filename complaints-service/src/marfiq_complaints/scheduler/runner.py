"""The scheduler loop, started with the service; every replica runs one.

Nothing elects a leader: every job claims rows with `FOR UPDATE SKIP LOCKED` and marks
them in the same statement (see repository.py), so replicas share the work and no due
date is reported twice. A failing job is logged and tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.dependencies import Clock
from marfiq_complaints.lifecycle import Policy
from marfiq_complaints.scheduler import service
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_shared.db import Database

log = logging.getLogger("marfiq.complaints.scheduler")

Job = Callable[[AsyncSession], Awaitable[int]]
# A job repeats while its batches come back full, up to this many batches a tick, so that
# one huge backlog cannot keep the other jobs waiting.
MAX_BATCHES_PER_TICK = 20


class Scheduler:
    def __init__(
        self,
        database: Database,
        *,
        settings: ComplaintsSettings,
        policy: Policy,
        clock: Clock,
    ) -> None:
        self._database = database
        self._settings = settings
        self._policy = policy
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def _jobs(self) -> dict[str, Job]:
        settings, now, batch = self._settings, self._clock(), self._settings.scheduler_batch
        lead = timedelta(seconds=settings.reminder_lead_s)
        delay = timedelta(seconds=settings.escalation_delay_s)
        return {
            "overdue": lambda s: service.mark_overdue(s, now=now, batch=batch),
            "reminders": lambda s: service.send_reminders(s, now=now, lead=lead, batch=batch),
            "escalations": lambda s: service.escalate(s, now=now, delay=delay, batch=batch),
            "closing": lambda s: service.close_unreopened(
                s, now=now, policy=self._policy, batch=batch
            ),
        }

    async def run_once(self) -> dict[str, int]:
        """Run every job until it has nothing left (or its share of the tick is used)."""
        done: dict[str, int] = {}
        for name, job in self._jobs().items():
            done[name] = 0
            for _ in range(MAX_BATCHES_PER_TICK):
                async with self._database.sessionmaker() as session, session.begin():
                    taken = await job(session)
                done[name] += taken
                if taken < self._settings.scheduler_batch:
                    break
        return done

    def start(self) -> None:
        """Tick every `scheduler_interval_s` in the background until `stop`."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="complaints-scheduler")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self.run_once()
                if any(done.values()):
                    log.info("scheduler tick", extra={"done": done})
            except Exception:
                log.exception("scheduler tick failed; trying again at the next one")
            with suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self._settings.scheduler_interval_s
                )
