"""Application factory of the complaints service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI

from marfiq_complaints.db import inbox, metadata, outbox
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_complaints.subscriptions import SUBSCRIPTIONS
from marfiq_shared.service import ServiceDefinition, create_service_app

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
) -> FastAPI:
    """Build the complaints service; connections open in the lifespan, not here."""
    definition = ServiceDefinition(
        name="complaints-service",
        settings=settings or ComplaintsSettings(),
        metadata=metadata,
        outbox=outbox,
        inbox=inbox,
        routers=[],
        subscriptions=SUBSCRIPTIONS,
    )
    return create_service_app(
        definition,
        transport=transport,
        jwks_fetcher=jwks_fetcher,
        relay_on_start=relay_on_start,
    )
