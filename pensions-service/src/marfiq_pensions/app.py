"""Application factory of the pensions service."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from starlette.middleware import Middleware

from marfiq_pensions import models  # noqa: F401  (every table on the metadata)
from marfiq_pensions.affiliates import api as affiliates_api
from marfiq_pensions.bank_accounts import api as bank_accounts_api
from marfiq_pensions.careers import api as careers_api
from marfiq_pensions.certificates import api as certificates_api
from marfiq_pensions.db import inbox, metadata, outbox
from marfiq_pensions.declarations import api as declarations_api
from marfiq_pensions.declarations.worker import DeclarationWorker
from marfiq_pensions.dependencies import Clock, system_clock
from marfiq_pensions.hot_routes import ROUTES as HOT_ROUTES
from marfiq_pensions.payments import api as payments_api
from marfiq_pensions.payments.runner import PaymentScheduler
from marfiq_pensions.regimes import CATALOGUE, RegimeCatalogue
from marfiq_pensions.retirements import api as retirements_api
from marfiq_pensions.settings import PensionsSettings
from marfiq_pensions.subscriptions import SUBSCRIPTIONS
from marfiq_shared.db import async_url
from marfiq_shared.documents import PlatformPki, find_fonts
from marfiq_shared.hot_routes import HotRoutes
from marfiq_shared.service import ServiceDefinition, create_service_app

if TYPE_CHECKING:
    from marfiq_shared.auth import JwksFetcher
    from marfiq_shared.events.transport import Transport

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def read_pool(settings: PensionsSettings) -> asyncpg.Pool:
    """A pool for frequent single-statement reads (simulations), straight on asyncpg: no
    transaction around the statement, no ping at checkout and no reset query at release,
    so a read costs one round trip. A connection found dead fails its request once and is
    replaced."""

    async def keep(connection: asyncpg.Connection) -> None:
        return None  # nothing to reset: readers set no session state

    dsn = make_url(async_url(settings.database_url)).set(drivername="postgresql")
    return await asyncpg.create_pool(
        dsn.render_as_string(hide_password=False),
        min_size=1,
        max_size=settings.database_pool_size,
        reset=keep,
        server_settings={"application_name": f"{settings.service_name}-reads"},
    )


def create_app(
    settings: PensionsSettings | None = None,
    *,
    transport: Transport | None = None,
    jwks_fetcher: JwksFetcher | None = None,
    relay_on_start: bool = True,
    clock: Clock = system_clock,
    regimes: RegimeCatalogue = CATALOGUE,
) -> FastAPI:
    """Build the pensions service; connections open and workers start in the lifespan.

    `clock` and `regimes` are for tests: every "now" of the service reads the clock, and
    every computation the regimes' parameters.
    """
    settings = settings or PensionsSettings()
    pki = PlatformPki(settings.pki_dir, extra_trust_roots=settings.pki_extra_trust_roots)

    async def start_workers(app: FastAPI) -> None:
        # The authority exists before the first certificate, and the fonts are prepared off
        # the event loop: the first certificate is then as fast as any.
        await asyncio.to_thread(pki.authority)
        app.state.warmup = asyncio.create_task(asyncio.to_thread(find_fonts))
        app.state.read_pool = await read_pool(settings)
        worker = DeclarationWorker(app.state.db, settings=settings, catalogue=regimes, clock=clock)
        app.state.declaration_worker = worker
        if settings.declaration_worker_enabled:
            worker.start()
        payments = PaymentScheduler(app.state.db, settings=settings, catalogue=regimes, clock=clock)
        app.state.payment_scheduler = payments
        if settings.payment_run_enabled:
            payments.start()

    async def stop_workers(app: FastAPI) -> None:
        await app.state.declaration_worker.stop()
        await app.state.payment_scheduler.stop()
        await app.state.read_pool.close()
        with contextlib.suppress(Exception):
            await app.state.warmup

    definition = ServiceDefinition(
        name=settings.service_name,
        settings=settings,
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        routers=[
            # The hot route (simulations) first: a request tries the routers in this order.
            careers_api.router,
            affiliates_api.router,
            bank_accounts_api.router,
            payments_api.router,
            retirements_api.router,
            certificates_api.router,
            declarations_api.router,
        ],
        subscriptions=SUBSCRIPTIONS,
        on_startup=[start_workers],
        on_shutdown=[stop_workers],
        description="The pension file online: employers' declarations, careers and "
        "contributions, simulations, bank account, payments and certificates.",
        openapi_tags=[
            {"name": "affiliation", "description": "The citizen's own pension file"},
            {"name": "career", "description": "Periods, contributions and simulations"},
            {"name": "bank account", "description": "The account pensions are paid into"},
            {"name": "payments", "description": "Monthly pension payments"},
            {"name": "certificates", "description": "Signed affiliation and pension certificates"},
            {"name": "declarations", "description": "Employers' monthly wage declarations"},
        ],
    )
    app = create_service_app(
        definition,
        transport=transport,
        jwks_fetcher=jwks_fetcher,
        relay_on_start=relay_on_start,
    )
    app.state.clock = clock
    app.state.pki = pki
    app.state.regimes = regimes
    # Innermost of the app's middleware: inside RequestContextMiddleware (see hot_routes).
    app.user_middleware.append(Middleware(HotRoutes, owner=app, routes=HOT_ROUTES))
    return app
