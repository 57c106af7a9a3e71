"""Embedded mode: one process, the gateway with the four services mounted in it.

Same services, migrations, outbox and inbox as the distributed mode; only the last hop of
events (an in-process transport) and of HTTP (an ASGI call) differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from marfiq import embedded_postgres
from marfiq.services import SERVICES
from marfiq_shared.logs import configure_logging
from marfiq_shared.migrations import upgrade

log = logging.getLogger("marfiq.embedded")


def build_platform(database_url: str) -> FastAPI:
    """The gateway app wrapping the four service apps, sharing one in-process bus."""
    from marfiq_gateway.app import create_gateway_app
    from marfiq_gateway.settings import GatewaySettings
    from marfiq_identity.keys.service import local_jwks_fetcher
    from marfiq_shared.events.inprocess import InProcessTransport

    os.environ.setdefault("DATABASE_URL", database_url)
    transport = InProcessTransport()
    apps: dict[str, FastAPI] = {}
    jwks_fetcher = None
    for spec in SERVICES:
        module = spec.app_module
        app = module.create_app(
            transport=transport, jwks_fetcher=jwks_fetcher, relay_on_start=False
        )
        apps[spec.name] = app
        if spec.name == "identity":
            jwks_fetcher = local_jwks_fetcher(app)
    gateway = create_gateway_app(
        GatewaySettings(),
        upstreams=dict(apps),
        jwks_fetcher=jwks_fetcher,
        transport=transport,
    )

    inner_lifespan = gateway.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Mounted apps do not get lifespan events of their own: enter each one here,
        # the bus first and the gateway last, and leave them in the reverse order.
        # In process, a queue exists once its consumer subscribed: every service subscribes
        # (in its lifespan) before any relay publishes.
        async with AsyncExitStack() as stack:
            for service_app in apps.values():
                await stack.enter_async_context(service_app.router.lifespan_context(service_app))
            await stack.enter_async_context(inner_lifespan(app))
            for service_app in apps.values():
                service_app.state.events.start_relaying()
            yield

    gateway.router.lifespan_context = lifespan
    return gateway


async def _prepare(database_url: str) -> None:
    for spec in SERVICES:
        await asyncio.to_thread(upgrade, spec.migrations, database_url)
    from marfiq_identity.administrations.seed import seed_directory

    await seed_directory(database_url)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(host: str = "127.0.0.1", port: int | None = None) -> None:
    """`make run`: start Postgres, migrate, seed, serve on MARFIQ_PORT (8000)."""
    configure_logging(os.environ.get("LOG_LEVEL", "INFO"), json=False)
    port = port or int(os.environ.get("MARFIQ_PORT", "8000"))
    data_dir = Path(os.environ.get("MARFIQ_DATA_DIR", "var/embedded")).resolve()
    server, url = embedded_postgres.start(data_dir / "postgres")
    # Uvicorn re-raises the signal that stopped it; turned into an exception, it lets the
    # `finally` below stop the embedded Postgres instead of leaving it running.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("MARFIQ_ISSUER", f"http://{host}:{port}")
        os.environ.setdefault("MARFIQ_NOTIFIER", "console")
        os.environ.setdefault("LOG_JSON", "false")
        asyncio.run(_prepare(url))
        app = build_platform(url)
        print(f"Marfiq is running: http://{host}:{port}/docs", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        server.cleanup()
        embedded_postgres.stop(data_dir / "postgres")
