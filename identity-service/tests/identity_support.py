"""Helpers of the identity tests: settings, the app in its lifespan, real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import create_account
from marfiq_identity.app import create_app
from marfiq_identity.dev import issue_tokens_for
from marfiq_identity.settings import IdentitySettings
from marfiq_shared.db import Database
from marfiq_shared.events.inprocess import InProcessTransport

ADMIN_EMAIL = "admin@marfiq.ma"


def make_settings(database_url: str, **overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "key_encryption_secret": "test-key-encryption-secret",
        "bootstrap_admin_email": ADMIN_EMAIL,
        "signing_key_publish_ahead_s": 0,
        "signing_key_check_interval_s": 3600,
        "marfiq_issuer": "https://marfiq.test",
        "marfiq_audience": "marfiq",
        "log_json": False,
        "amqp_url": None,
    }
    return IdentitySettings(**(values | overrides))


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app inside its lifespan, and an HTTP client talking to it in process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
            yield client


@asynccontextmanager
async def started(settings: IdentitySettings) -> AsyncIterator[Identity]:
    """A fresh identity app on its own in-process event bus, running."""
    bus = InProcessTransport()
    await bus.open()
    try:
        app = create_app(settings, transport=bus)
        async with running(app) as client:
            yield Identity(app=app, client=client, settings=settings)
    finally:
        await bus.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Identity:
    """A running identity service, its client, and ways to get real tokens."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: IdentitySettings

    @property
    def database(self) -> Database:
        database: Database = self.app.state.db
        return database

    async def scalar(self, query: str, **params: Any) -> Any:
        async with self.database.sessionmaker() as session:
            return (await session.execute(text(query), params)).scalar()

    async def account(self, **fields: Any) -> Account:
        async with self.database.sessionmaker() as session, session.begin():
            return await create_account(session, **fields)

    async def admin_id(self) -> str:
        found = await self.scalar(
            "SELECT id FROM identity.accounts WHERE email = :email", email=ADMIN_EMAIL
        )
        return str(found)

    async def admin_token(self) -> str:
        return (await issue_tokens_for(self.app, await self.admin_id())).access_token

    async def citizen_token(self, email: str = "citizen@example.ma") -> str:
        account = await self.account(kind=AccountKind.citizen, email=email)
        return (await issue_tokens_for(self.app, account)).access_token
