"""Service defaults: what every Marfiq service process is made of, wired in one place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, Table, text

from marfiq_shared import health
from marfiq_shared.auth import JwksCache, JwksFetcher, TokenVerifier, http_jwks_fetcher
from marfiq_shared.db import Database
from marfiq_shared.heap import settle_heap
from marfiq_shared.logs import configure_logging
from marfiq_shared.middleware import RequestContextMiddleware
from marfiq_shared.problems import install_problem_handlers
from marfiq_shared.settings import MarfiqSettings
from marfiq_shared.tracing import configure_tracing

if TYPE_CHECKING:
    from marfiq_shared.events.consumer import Handler
    from marfiq_shared.events.transport import Transport

Hook = Callable[[FastAPI], Awaitable[None]]


@dataclass
class ServiceDefinition:
    """What makes one service: its name, tables, routes and the events it consumes."""

    name: str
    settings: MarfiqSettings
    metadata: MetaData
    outbox: Table
    inbox: Table
    routers: Sequence[APIRouter]
    subscriptions: dict[str, Handler] = field(default_factory=dict)
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    description: str = ""
    version: str = "0.1.0"
    openapi_tags: list[dict[str, Any]] | None = None


def create_service_app(
    definition: ServiceDefinition,
    *,
    transport: Transport | None = None,
    jwks_fetcher: JwksFetcher | None = None,
    configure_logs: bool = True,
    relay_on_start: bool = True,
) -> FastAPI:
    """Build a service's FastAPI app; nothing connects until the lifespan starts.

    `transport` is passed in by the embedded launcher so that all services share one
    in-process bus; `jwks_fetcher` lets it read identity's keys without an HTTP hop.
    With `relay_on_start=False` the outbox relay waits for `app.state.events.start_relaying()`:
    in process, queues exist only once their consumer subscribed, so the launcher starts
    every consumer before any relay publishes.
    """
    settings = definition.settings
    if configure_logs:
        configure_logging(settings.log_level, json=settings.log_json)
    configure_tracing(definition.name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from marfiq_shared.events.runtime import EventRuntime, make_transport

        database = Database(
            settings.database_url,
            schema=settings.db_schema,
            source=definition.name,
            outbox=definition.outbox,
            pool_size=settings.database_pool_size,
            pre_ping=settings.database_pool_pre_ping,
        )
        bus = transport or make_transport(settings)
        app.state.settings = settings
        app.state.db = database
        app.state.transport = bus
        app.state.token_verifier = TokenVerifier(
            JwksCache(jwks_fetcher or http_jwks_fetcher(settings.marfiq_jwks_url)),
            issuer=settings.marfiq_issuer,
            audience=settings.marfiq_audience,
        )

        async def database_ready() -> None:
            async with database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def broker_ready() -> None:
            if not bus.is_connected:
                raise ConnectionError("event transport is not connected")

        app.state.readiness = {"database": database_ready, "broker": broker_ready}
        runtime = EventRuntime(
            database,
            bus,
            queue=settings.event_queue_prefix + definition.name,
            subscriptions=definition.subscriptions,
            outbox=definition.outbox,
            inbox=definition.inbox,
            settings=settings,
        )
        app.state.events = runtime

        async def refresh_metrics() -> None:
            # The outbox gauges as of this scrape, not of the relay's last housekeeping
            # (which waits out its back-off while the broker is down); a database or broker
            # that does not answer leaves the last values.
            health.observe_pool(definition.name, database.engine)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(runtime.relay.backlog(), timeout=1.0)
            if definition.subscriptions and bus.is_connected:
                with contextlib.suppress(Exception):
                    dead = await asyncio.wait_for(bus.dlq_count(runtime.queue), timeout=1.0)
                    health.DEAD_LETTERS.labels(runtime.queue).set(dead)

        app.state.refresh_metrics = refresh_metrics
        for hook in definition.on_startup:
            await hook(app)
        # The runtime opens (and at stop closes) the transport; it is reference counted,
        # so services sharing one in-process bus each hold it open.
        await runtime.start_consuming()
        if relay_on_start:
            runtime.start_relaying()
        settle_heap()
        try:
            yield
        finally:
            await runtime.stop()
            for hook in definition.on_shutdown:
                await hook(app)
            await database.dispose()

    app = FastAPI(
        title=f"Marfiq {definition.name}",
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        openapi_tags=definition.openapi_tags,
    )
    install_problem_handlers(app)
    app.include_router(health.router)
    for router in definition.routers:
        app.include_router(router)
    app.add_middleware(
        RequestContextMiddleware,
        service=definition.name,
        max_body_bytes=settings.max_body_bytes,
        default_language=settings.default_language,
    )
    return app
