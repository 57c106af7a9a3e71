"""Application factory of the correspondence service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.middleware import Middleware

from marfiq_correspondence import models  # noqa: F401  (every table on the metadata)
from marfiq_correspondence.correspondence import api as correspondence_api
from marfiq_correspondence.db import inbox, metadata, outbox
from marfiq_correspondence.dependencies import Clock, system_clock
from marfiq_correspondence.documents import api as documents_api
from marfiq_correspondence.files import api as files_api
from marfiq_correspondence.files.service import sweep_unattached
from marfiq_correspondence.hot_routes import HotRoutes
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_correspondence.subscriptions import SUBSCRIPTIONS
from marfiq_correspondence.webhooks import api as webhooks_api
from marfiq_correspondence.webhooks.dispatcher import WebhookDispatcher
from marfiq_shared.documents import PlatformPki, find_fonts
from marfiq_shared.service import ServiceDefinition, create_service_app
from marfiq_shared.storage import open_storage

if TYPE_CHECKING:
    from marfiq_shared.auth import JwksFetcher
    from marfiq_shared.events.transport import Transport

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
log = logging.getLogger(__name__)


def create_app(
    settings: CorrespondenceSettings | None = None,
    *,
    transport: Transport | None = None,
    jwks_fetcher: JwksFetcher | None = None,
    relay_on_start: bool = True,
    clock: Clock = system_clock,
) -> FastAPI:
    """Build the correspondence service; connections open, the webhook dispatcher and the
    janitor start in the lifespan, not here. `clock` is for tests (the requests' "now")."""
    settings = settings or CorrespondenceSettings()
    storage = open_storage(settings.storage_url)
    pki = PlatformPki(settings.pki_dir, extra_trust_roots=settings.pki_extra_trust_roots)

    async def start_workers(app: FastAPI) -> None:
        # The authority exists (or is created) before the first request needs it, and the
        # fonts are prepared off the event loop: the first document is then as fast as any.
        await asyncio.to_thread(pki.authority)
        app.state.warmup = asyncio.create_task(asyncio.to_thread(find_fonts))
        app.state.webhooks = None
        if settings.webhooks_enabled:
            dispatcher = WebhookDispatcher(app.state.db, settings)
            dispatcher.start()
            app.state.webhooks = dispatcher
        app.state.janitor = asyncio.create_task(_janitor(app), name="files janitor")

    async def stop_workers(app: FastAPI) -> None:
        app.state.janitor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.state.janitor
        if app.state.webhooks is not None:
            await app.state.webhooks.stop()
        with contextlib.suppress(Exception):
            await app.state.warmup
        await storage.close()

    async def _janitor(app: FastAPI) -> None:
        while True:
            await asyncio.sleep(settings.janitor_interval_s)
            try:
                removed = await sweep_unattached(
                    database=app.state.db,
                    storage=storage,
                    older_than=timedelta(seconds=settings.unattached_file_ttl_s),
                    now=clock(),
                )
                if removed:
                    log.info("deleted %d file(s) never attached", removed)
            except Exception:
                log.exception("files janitor failed; trying again later")

    definition = ServiceDefinition(
        name=settings.service_name,
        settings=settings,
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        routers=[
            files_api.router,
            correspondence_api.router,
            documents_api.router,
            webhooks_api.router,
        ],
        subscriptions=SUBSCRIPTIONS,
        on_startup=[start_workers],
        on_shutdown=[stop_workers],
        description="The digital mail office: registration in each administration's "
        "register, signed receipts and answers, forwarding, the case file, public "
        "verification of documents, partner webhooks.",
        openapi_tags=[
            {"name": "files", "description": "Uploads to attach to letters and answers"},
            {"name": "correspondence", "description": "Filing, registers and processing"},
            {"name": "documents", "description": "Public verification of issued documents"},
            {"name": "webhooks", "description": "Signed notifications to partner systems"},
        ],
    )
    app = create_service_app(
        definition,
        transport=transport,
        jwks_fetcher=jwks_fetcher,
        relay_on_start=relay_on_start,
    )
    # Innermost of the app's middleware: inside RequestContextMiddleware (see hot_routes).
    app.user_middleware.append(Middleware(HotRoutes, owner=app))
    app.state.clock = clock
    app.state.storage = storage
    app.state.pki = pki
    return app
