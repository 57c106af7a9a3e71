"""Application factory of the complaints service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.middleware import Middleware

from marfiq_complaints import models  # noqa: F401  (every table on the metadata)
from marfiq_complaints.attachments import api as attachments_api
from marfiq_complaints.complaints import api as complaints_api
from marfiq_complaints.db import inbox, metadata, outbox
from marfiq_complaints.dependencies import Clock, system_clock
from marfiq_complaints.hot_routes import ROUTES as HOT_ROUTES
from marfiq_complaints.lifecycle import load_policy
from marfiq_complaints.scheduler.runner import Scheduler
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_complaints.stats import api as stats_api
from marfiq_complaints.stats.cache import TtlCache
from marfiq_complaints.stats.schemas import StatsPage
from marfiq_complaints.subscriptions import SUBSCRIPTIONS
from marfiq_shared.hot_routes import HotRoutes
from marfiq_shared.service import ServiceDefinition, create_service_app
from marfiq_shared.storage import open_storage

if TYPE_CHECKING:
    from marfiq_shared.auth import JwksFetcher
    from marfiq_shared.events.transport import Transport

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(
    settings: ComplaintsSettings | None = None,
    *,
    transport: Transport | None = None,
    jwks_fetcher: JwksFetcher | None = None,
    relay_on_start: bool = True,
    clock: Clock = system_clock,
) -> FastAPI:
    """Build the complaints service; connections open and the scheduler starts in the
    lifespan, not here. Rules and holiday files are read here, so bad ones fail at once.

    `clock` is for tests: every "now" of the service (requests and scheduler) reads it.
    """
    settings = settings or ComplaintsSettings()
    policy = load_policy(holiday_files=settings.holiday_files, rule_files=settings.rule_files)
    storage = open_storage(settings.storage_url)

    async def start_scheduler(app: FastAPI) -> None:
        scheduler = Scheduler(app.state.db, settings=settings, policy=policy, clock=clock)
        app.state.scheduler = scheduler
        if settings.scheduler_enabled:
            scheduler.start()

    async def stop_scheduler(app: FastAPI) -> None:
        await app.state.scheduler.stop()
        await storage.close()  # an S3 store holds an HTTP client

    definition = ServiceDefinition(
        name=settings.service_name,
        settings=settings,
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        # Statistics first: "/v1/complaints/stats" must not be read as a complaint id.
        routers=[stats_api.router, complaints_api.router, attachments_api.router],
        subscriptions=SUBSCRIPTIONS,
        on_startup=[start_scheduler],
        on_shutdown=[stop_scheduler],
        description="Complaints, observations, suggestions and requests for information, "
        "with legal deadlines, escalation and public statistics.",
        openapi_tags=[
            {"name": "complaints", "description": "Filing, queues and the lifecycle"},
            {"name": "attachments", "description": "Documents attached to a complaint"},
            {"name": "statistics", "description": "Public figures per administration"},
        ],
    )
    app = create_service_app(
        definition,
        transport=transport,
        jwks_fetcher=jwks_fetcher,
        relay_on_start=relay_on_start,
    )
    app.state.policy = policy
    app.state.clock = clock
    app.state.storage = storage
    app.state.stats_cache = TtlCache[StatsPage](ttl=settings.stats_cache_s)
    # Innermost of the app's middleware: inside RequestContextMiddleware (see hot_routes).
    app.user_middleware.append(Middleware(HotRoutes, owner=app, routes=HOT_ROUTES))
    return app
