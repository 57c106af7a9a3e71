"""Helpers of the identity tests: settings, the app in its lifespan, real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from delivery_support import MailServer, SmsGateway, body_of, code_in, wait_for
from fastapi import FastAPI
from sqlalchemy import text

from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import create_account, normalize_email, normalize_phone
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


def contact_form(destination: str) -> str:
    """The form providers receive a contact in (E.164, lower-case e-mail)."""
    return normalize_email(destination) if "@" in destination else normalize_phone(destination)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Identity:
    """A running identity service, its client, and ways to get real tokens."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: IdentitySettings
    sms: SmsGateway | None = None
    mail: MailServer | None = None

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

    # --- sign-in by code, through the HTTP API ---------------------------------------------

    async def request_code(
        self, destination: str, *, channel: str | None = None, **headers: str
    ) -> httpx.Response:
        channel = channel or ("email" if "@" in destination else "sms")
        return await self.client.post(
            "/v1/auth/otp",
            json={"channel": channel, "destination": destination},
            headers=headers,
        )

    async def received_text(self, destination: str, *, count: int = 1) -> str:
        """The text of the `count`-th message delivered to `destination` (waiting for it)."""
        destination = contact_form(destination)
        if "@" in destination:
            assert self.mail is not None
            mail = self.mail
            found = await wait_for(
                lambda: len(mail.to(destination)) >= count and mail.to(destination)
            )
            return body_of(found[count - 1])
        assert self.sms is not None
        sms = self.sms
        found = await wait_for(lambda: len(sms.to(destination)) >= count and sms.to(destination))
        text: str = found[count - 1].text
        return text

    def delivered_to(self, destination: str) -> int:
        """How many messages reached `destination` so far."""
        destination = contact_form(destination)
        if "@" in destination:
            return len(self.mail.to(destination)) if self.mail else 0
        return len(self.sms.to(destination)) if self.sms else 0

    async def code_for(self, destination: str, *, count: int = 1) -> str:
        return code_in(await self.received_text(destination, count=count))

    async def verify(self, challenge_id: str, code: str) -> httpx.Response:
        return await self.client.post(
            "/v1/auth/otp/verify", json={"challenge_id": challenge_id, "code": code}
        )

    async def sign_in(self, destination: str, **headers: str) -> dict[str, Any]:
        """A complete sign-in by code: request, read the message, verify; the token response."""
        before = self.delivered_to(destination)
        requested = await self.request_code(destination, **headers)
        assert requested.status_code == 202, requested.text
        code = await self.code_for(destination, count=before + 1)
        verified = await self.client.post(
            "/v1/auth/otp/verify",
            json={"challenge_id": requested.json()["challenge_id"], "code": code},
            headers=headers,
        )
        assert verified.status_code == 200, verified.text
        tokens: dict[str, Any] = verified.json()
        return tokens


async def create_administration(identity: Identity, code: str = "CNSS") -> str:
    """A new administration, created by the platform administrator; its id."""
    created = await identity.client.post(
        "/v1/administrations",
        json={
            "code": code,
            "name_ar": "إدارة " + code,
            "name_fr": "Administration " + code,
            "kind": "public_establishment",
        },
        headers=bearer(await identity.admin_token()),
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def outbox_events(identity: Identity, event_type: str) -> list[dict[str, Any]]:
    """The `data` of the events of `event_type` written to identity's outbox."""
    import orjson

    async with identity.database.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT payload FROM identity.outbox WHERE type = :type ORDER BY created_at"),
            {"type": event_type},
        )
        return [orjson.loads(row[0])["data"] for row in rows]


async def publish(identity: Identity, data: Any, *, event_id: str | None = None) -> str:
    """Publish an event on identity's bus as another service would; its id."""
    from marfiq_shared.events.envelope import CloudEvent
    from marfiq_shared.events.transport import OutgoingEvent

    event = CloudEvent(
        source="pensions-service",
        type=data.type,
        data=data.model_dump(mode="json"),
        **({"id": event_id} if event_id else {}),
    )
    await identity.app.state.transport.publish(
        [OutgoingEvent(event.id, event.type, event.to_json())]
    )
    return event.id


async def eventually(probe: Any, *, within_s: float = 5.0) -> Any:
    """Await `probe()` until it returns something truthy."""
    import asyncio

    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found = await probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the expected state was not reached in time")
        await asyncio.sleep(0.02)
