"""Helpers of the complaints tests: a frozen clock, real ES256 tokens, the app running."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm
from sqlalchemy import text

from marfiq_complaints.app import create_app
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_shared.db import Database
from marfiq_shared.events.inprocess import InProcessTransport

ISSUER, AUDIENCE = "https://marfiq.test", "marfiq"
# Monday 1 September 2025, 09:00 in Casablanca (UTC+1).
START = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


class FrozenClock:
    """The service's "now", moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Signer:
    """An ES256 key and its JWKS: what identity would publish, without identity."""

    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:12]
        self.key = ec.generate_private_key(ec.SECP256R1())

    async def jwks(self) -> dict[str, Any]:
        entry = json.loads(ECAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [entry | {"kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def token(
        self,
        sub: str,
        *,
        roles: tuple[str, ...],
        adm: uuid.UUID | None = None,
        scope: str | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "exp": now + 600,
            "jti": uuid.uuid4().hex,
            "sid": uuid.uuid4().hex,
            "acr": "low",
            "amr": ["otp"],
            "roles": list(roles),
        }
        if adm is not None:
            claims["adm"] = str(adm)
        if scope is not None:
            claims["scope"] = scope
        return jwt.encode(
            claims, self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"}
        )


def make_settings(database_url: str, storage: Path, **overrides: Any) -> ComplaintsSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "marfiq_issuer": ISSUER,
        "marfiq_audience": AUDIENCE,
        "log_json": False,
        "amqp_url": None,
        "scheduler_enabled": False,
        "storage_url": str(storage),
        "attachment_max_bytes": 64 * 1024,
        "max_body_bytes": 256 * 1024,
        # Tests read the statistics right after each step: no cache unless a test asks.
        "stats_cache_s": 0,
    }
    return ComplaintsSettings(**(values | overrides))


@dataclass
class Person:
    """Someone calling the API: their sub and their bearer header."""

    sub: str
    headers: dict[str, str]
    administration_id: uuid.UUID | None = None


@dataclass
class Administration:
    id: uuid.UUID
    code: str


@dataclass
class Service:
    """The running service, its client, its clock, and ways to make callers and data."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    signer: Signer
    settings: ComplaintsSettings
    administrations: list[Administration] = field(default_factory=list)

    @property
    def database(self) -> Database:
        database: Database = self.app.state.db
        return database

    def citizen(self) -> Person:
        sub = str(uuid.uuid4())
        token = self.signer.token(sub, roles=("citizen",))
        return Person(sub, {"Authorization": f"Bearer {token}"})

    def agent(self, administration: Administration, *, role: str = "agent") -> Person:
        sub = str(uuid.uuid4())
        token = self.signer.token(sub, roles=(role,), adm=administration.id)
        return Person(sub, {"Authorization": f"Bearer {token}"}, administration.id)

    def client_of(self, administration: Administration, scope: str) -> Person:
        sub = f"client-{uuid.uuid4().hex[:8]}"
        token = self.signer.token(sub, roles=("client",), adm=administration.id, scope=scope)
        return Person(sub, {"Authorization": f"Bearer {token}"}, administration.id)

    async def administration(self, code: str, *, active: bool = True) -> Administration:
        """An administration in the local directory replica, as identity's events leave it."""
        administration = Administration(uuid.uuid4(), code)
        await self.execute(
            "INSERT INTO complaints.administrations (id, code, name_ar, name_fr, kind, "
            "parent_id, active, version, updated_at) VALUES (:id, :code, :ar, :fr, 'ministry', "
            "NULL, :active, 1, now())",
            id=administration.id,
            code=code,
            ar=f"إدارة {code}",
            fr=f"Administration {code}",
            active=active,
        )
        return administration

    async def execute(self, query: str, **params: Any) -> None:
        async with self.database.sessionmaker() as session, session.begin():
            await session.execute(text(query), params)

    async def scalar(self, query: str, **params: Any) -> Any:
        async with self.database.sessionmaker() as session:
            return (await session.execute(text(query), params)).scalar()

    async def rows(self, query: str, **params: Any) -> list[Any]:
        async with self.database.sessionmaker() as session:
            return list((await session.execute(text(query), params)).mappings().all())

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Outbox envelopes in the order they were written, optionally of one type."""
        query = "SELECT payload FROM complaints.outbox"
        if event_type is not None:
            query += " WHERE type = :type"
        rows = await self.rows(query + " ORDER BY created_at, id", type=event_type)
        return [json.loads(row["payload"]) for row in rows]

    async def file(
        self,
        citizen: Person,
        administration: Administration,
        *,
        kind: str = "complaint",
        subject: str = "Retard de délivrance d'un acte de naissance",
        description: str = "Demande déposée il y a deux mois, toujours sans réponse.",
        **extra: Any,
    ) -> dict[str, Any]:
        """File a complaint over HTTP and return the answer (asserting 201)."""
        body = {
            "administration_id": str(administration.id),
            "kind": kind,
            "subject": subject,
            "description": description,
        } | extra
        response = await self.client.post("/v1/complaints", json=body, headers=citizen.headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def step(
        self, person: Person, complaint_id: str, action: str, body: Any = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/complaints/{complaint_id}/{action}", json=body, headers=person.headers
        )


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a response, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://marfiq.ma/problems/")
    return body


@asynccontextmanager
async def running(
    settings: ComplaintsSettings, *, clock: FrozenClock, signer: Signer
) -> AsyncIterator[Service]:
    """A fresh complaints app on its own in-process bus, inside its lifespan."""
    bus = InProcessTransport()
    await bus.open()
    try:
        app = create_app(settings, transport=bus, jwks_fetcher=signer.jwks, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://complaints"
            ) as client:
                yield Service(app, client, clock, signer, settings)
    finally:
        await bus.close()
