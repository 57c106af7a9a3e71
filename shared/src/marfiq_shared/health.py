"""Liveness, readiness and Prometheus metrics, the same on every process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

ReadinessCheck = Callable[[], Awaitable[None]]

router = APIRouter(include_in_schema=False)


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
