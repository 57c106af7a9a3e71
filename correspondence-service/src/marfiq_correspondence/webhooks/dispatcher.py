"""Sends queued webhook deliveries: signed, with a timeout, retried with back-off.

Runs in every replica; a delivery is claimed with `FOR UPDATE SKIP LOCKED` and a lease, so
two replicas never send the same one at once and a crashed replica's claims come back.
Nothing here runs on a request's path: deliveries are queued in the transaction of the step
that caused them (queueing.py), which wakes the dispatcher of its process after the commit;
other replicas find them at their next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_correspondence.webhooks import repository
from marfiq_correspondence.webhooks.service import message_id
from marfiq_correspondence.webhooks.signature import headers as signed_headers
from marfiq_correspondence.webhooks.wakeup import on_deliveries_committed
from marfiq_shared.db import Database

log = logging.getLogger(__name__)

ERROR_MAX = 500


def _now() -> datetime:
    return datetime.now(UTC)


class WebhookDispatcher:
    def __init__(
        self,
        database: Database,
        settings: CorrespondenceSettings,
        *,
        clock: Callable[[], datetime] = _now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._database = database
        self._settings = settings
        self._clock = clock
        self._client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s, follow_redirects=False, transport=transport
        )
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._delays = list(settings.webhook_retry_delays_s)
        self._unsubscribe: Callable[[], None] = lambda: None

    def start(self) -> None:
        loop = asyncio.get_running_loop()

        def wake() -> None:
            # A commit may happen on another thread (sync code): hop to our loop.
            loop.call_soon_threadsafe(self._wake.set)

        self._unsubscribe = on_deliveries_committed(self._database.source, wake)
        self._task = asyncio.create_task(self._run(), name="webhook dispatcher")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.run_once()
            except Exception:
                log.exception("webhook dispatch failed; trying again")
                sent = 0
            if sent < self._settings.webhook_batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.webhook_poll_s)
                self._wake.clear()

    async def run_once(self) -> int:
        """Send what is due now; returns how many were tried."""
        lease = timedelta(seconds=self._settings.webhook_timeout_s + 30)
        async with self._database.sessionmaker() as session, session.begin():
            due = await repository.claim_due(
                session, now=self._clock(), lease=lease, batch=self._settings.webhook_batch
            )
        if due:
            await asyncio.gather(*(self._deliver(item) for item in due))
        return len(due)

    async def _deliver(self, item: Any) -> None:
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        if not item.active:
            error = "the endpoint was disabled"
        else:
            timestamp = int(self._clock().timestamp())
            headers = signed_headers(
                item.secret,
                message_id=message_id(item.id),
                timestamp=timestamp,
                body=item.payload,
            )
            try:
                response = await self._client.post(item.url, content=item.payload, headers=headers)
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"answered {status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX] or type(exc).__name__
        duration_ms = int((time.perf_counter() - started) * 1000)
        now = self._clock()
        outcome: dict[str, Any] = {"last_status_code": status_code, "last_error": error}
        if error is None:
            outcome |= {"status": "delivered", "delivered_at": now}
        elif item.active and item.attempts <= len(self._delays):
            delay = self._delays[item.attempts - 1]
            # A little jitter, so that a receiver back up is not hit by every retry at once.
            outcome["next_attempt_at"] = now + timedelta(seconds=delay * random.uniform(1, 1.1))  # noqa: S311
        else:
            outcome["status"] = "failed"
        async with self._database.sessionmaker() as session, session.begin():
            await repository.record_attempt(
                session,
                delivery_id=item.id,
                at=now,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                outcome=outcome,
            )
