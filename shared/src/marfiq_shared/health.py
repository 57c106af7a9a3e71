"""Liveness, readiness and Prometheus metrics, the same on every process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse, Response

ReadinessCheck = Callable[[], Awaitable[None]]

router = APIRouter(include_in_schema=False)

DB_POOL_CHECKED_OUT = Gauge(
    "marfiq_db_pool_checked_out",
    "Database connections in use (checked out of the pool) at the last scrape",
    ["service"],
)
DB_POOL_SIZE = Gauge(
    "marfiq_db_pool_size",
    "Connections the pool keeps open; up to as many again may overflow under load",
    ["service"],
)
DEAD_LETTERS = Gauge(
    "marfiq_dead_letter_messages",
    "Messages waiting in a service's dead-letter queue at the last scrape",
    ["queue"],
)


def observe_pool(service: str, engine: AsyncEngine) -> None:
    """Copy the SQLAlchemy pool's use into the gauges (a QueuePool; others are skipped)."""
    pool = engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out) and callable(size):
        DB_POOL_CHECKED_OUT.labels(service).set(checked_out())
        DB_POOL_SIZE.labels(service).set(size())


@router.get("/livez")
async def livez() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """Ready only when every dependency (database, broker, …) answers within a second."""
    checks: dict[str, ReadinessCheck] = getattr(request.app.state, "readiness", {})
    results: dict[str, str] = {}

    async def run(name: str, check: ReadinessCheck) -> None:
        try:
            await asyncio.wait_for(check(), timeout=1.0)
            results[name] = "ok"
        except Exception as exc:  # a failed check is an answer, not an error
            results[name] = f"failed: {type(exc).__name__}"

    await asyncio.gather(*(run(name, check) for name, check in checks.items()))
    ready = all(result == "ok" for result in results.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": results},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus exposition of this process's registry."""
    refresh: Callable[[], Awaitable[None]] | None = getattr(
        request.app.state, "refresh_metrics", None
    )
    if refresh is not None:
        await refresh()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
