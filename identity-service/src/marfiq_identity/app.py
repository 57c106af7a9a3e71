"""Application factory of the identity service."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.middleware import Middleware

from marfiq_identity import models  # noqa: F401  (every table on the metadata)
from marfiq_identity.accounts import api as accounts_api
from marfiq_identity.accounts import errors as account_errors
from marfiq_identity.accounts.service import bootstrap_platform_admin
from marfiq_identity.administrations import api as administrations_api
from marfiq_identity.administrations import errors as administration_errors
from marfiq_identity.agents import api as agents_api
from marfiq_identity.agents import errors as agent_errors
from marfiq_identity.assurance import api as assurance_api
from marfiq_identity.assurance import errors as assurance_errors
from marfiq_identity.clients import api as clients_api
from marfiq_identity.clients import errors as client_errors
from marfiq_identity.db import inbox, metadata, outbox
from marfiq_identity.eid import errors as eid_errors
from marfiq_identity.eid.trust import TrustList
from marfiq_identity.hot_routes import ROUTES as HOT_ROUTES
from marfiq_identity.keys import api as keys_api
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.notifications.channels import build_senders
from marfiq_identity.notifications.postman import Postman
from marfiq_identity.notifications.worker import DeliveryWorker
from marfiq_identity.otp import api as otp_api
from marfiq_identity.otp import errors as otp_errors
from marfiq_identity.otp.codes import CodeHasher, otp_key
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.signin import api as signin_api
from marfiq_identity.signin import errors as signin_errors
from marfiq_identity.subscriptions import SUBSCRIPTIONS
from marfiq_identity.tokens import api as tokens_api
from marfiq_identity.tokens import errors as token_errors
from marfiq_shared.hot_routes import HotRoutes
from marfiq_shared.i18n import register_messages
from marfiq_shared.service import ServiceDefinition, create_service_app

if TYPE_CHECKING:
    from marfiq_shared.auth import JwksFetcher
    from marfiq_shared.db import Database
    from marfiq_shared.events.transport import Transport

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

log = logging.getLogger("marfiq.identity")


def create_app(
    settings: IdentitySettings | None = None,
    *,
    transport: Transport | None = None,
    jwks_fetcher: JwksFetcher | None = None,
    relay_on_start: bool = True,
) -> FastAPI:
    """Build the identity service; keys load and connections open in the lifespan.

    Identity verifies its own tokens from its in-memory key set unless `jwks_fetcher` says
    otherwise.
    """
    settings = settings or IdentitySettings()
    register_messages(
        account_errors.MESSAGES
        | administration_errors.MESSAGES
        | otp_errors.MESSAGES
        | token_errors.MESSAGES
        | agent_errors.MESSAGES
        | client_errors.MESSAGES
        | eid_errors.MESSAGES
        | signin_errors.MESSAGES
        | assurance_errors.MESSAGES
    )
    keyring = KeyRing(settings)

    async def load_keys(app: FastAPI) -> None:
        database: Database = app.state.db
        await keyring.refresh(database)
        keyring.start(database)

    async def bootstrap_admin(app: FastAPI) -> None:
        if settings.bootstrap_admin_email is None:
            return
        database: Database = app.state.db
        async with database.sessionmaker() as session, session.begin():
            await bootstrap_platform_admin(
                session,
                email=settings.bootstrap_admin_email,
                language=settings.default_language,
            )

    async def stop_keys(app: FastAPI) -> None:
        await keyring.stop()

    async def load_trust_list(app: FastAPI) -> None:
        trust = TrustList.load(folder=settings.eid_trust_list_dir, pem=settings.eid_csca_pem)
        if not len(trust):
            log.warning(
                "no CSCA configured (IDENTITY_EID_TRUST_LIST_DIR / IDENTITY_EID_CSCA_PEM): "
                "every identity card will be refused"
            )
        app.state.eid_trust = trust

    async def start_delivery(app: FastAPI) -> None:
        app.state.code_hasher = CodeHasher(otp_key(settings))
        postman = Postman(build_senders(settings), settings)
        app.state.postman = postman
        worker = DeliveryWorker(app.state.db, postman, settings)
        worker.start()
        app.state.delivery_worker = worker

    async def stop_delivery(app: FastAPI) -> None:
        worker: DeliveryWorker = app.state.delivery_worker
        await worker.stop()
        postman: Postman = app.state.postman
        await postman.close()

    definition = ServiceDefinition(
        name=settings.service_name,
        settings=settings,
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        routers=[
            keys_api.router,
            otp_api.router,
            signin_api.router,
            tokens_api.router,
            accounts_api.router,
            administrations_api.router,
            agents_api.router,
            clients_api.router,
            assurance_api.router,
        ],
        subscriptions=SUBSCRIPTIONS,
        on_startup=[load_keys, bootstrap_admin, load_trust_list, start_delivery],
        on_shutdown=[stop_delivery, stop_keys],
        description="Accounts, sign-in, access tokens and signing keys, administrations.",
        openapi_tags=[
            {"name": "keys", "description": "Signing keys and discovery"},
            {"name": "sign-in", "description": "Codes, tokens, sessions"},
            {"name": "accounts", "description": "The signed-in user's account"},
            {"name": "administrations", "description": "Directory of administrations"},
            {"name": "agents", "description": "Agents of an administration"},
            {"name": "clients", "description": "Partner clients of an administration"},
            {"name": "assurance", "description": "Identity checks made in person"},
        ],
    )
    app = create_service_app(
        definition,
        transport=transport,
        jwks_fetcher=jwks_fetcher or keyring.jwks_document,
        relay_on_start=relay_on_start,
    )
    app.state.keyring = keyring
    # Innermost of the app's middleware: inside RequestContextMiddleware (see hot_routes).
    app.user_middleware.append(Middleware(HotRoutes, owner=app, routes=HOT_ROUTES))
    return app
