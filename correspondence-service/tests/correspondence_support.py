"""Helpers of the correspondence tests: real ES256 tokens, the app running, callers, data."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm
from sqlalchemy import text

from marfiq_correspondence.app import create_app
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.db import Database
from marfiq_shared.documents import PlatformPki
from marfiq_shared.events.inprocess import InProcessTransport

ISSUER, AUDIENCE = "https://marfiq.test", "marfiq"

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)


class Clock:
    """The service's "now": the real time unless a test pins it."""

    def __init__(self) -> None:
        self.pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self.pinned or datetime.now(UTC)


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
        cin: str | None = None,
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
        for name, value in (("adm", adm), ("scope", scope), ("cin", cin)):
            if value is not None:
                claims[name] = str(value)
        return jwt.encode(
            claims, self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"}
        )


def make_settings(
    database_url: str, root: Path, pki_dir: Path, **overrides: Any
) -> CorrespondenceSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "database_pool_size": 10,
        "marfiq_issuer": ISSUER,
        "marfiq_audience": AUDIENCE,
        "log_json": False,
        "amqp_url": None,
        "storage_url": str(root / "files"),
        "pki_dir": pki_dir,
        "public_base_url": "https://marfiq.test",
        "file_max_bytes": 256 * 1024,
        "max_body_bytes": 512 * 1024,
        "files_per_correspondence": 5,
        "webhook_poll_s": 0.05,
        "webhook_retry_delays_s": [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
        "webhook_timeout_s": 2.0,
        "webhook_allow_insecure": True,
    }
    return CorrespondenceSettings(**(values | overrides))


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
    """The running service, its client, and ways to make callers and data."""

    app: FastAPI
    client: httpx.AsyncClient
    signer: Signer
    settings: CorrespondenceSettings
    clock: Clock
    administrations: list[Administration] = field(default_factory=list)

    @property
    def database(self) -> Database:
        database: Database = self.app.state.db
        return database

    @property
    def pki(self) -> PlatformPki:
        pki: PlatformPki = self.app.state.pki
        return pki

    def citizen(self, *, cin: str | None = None) -> Person:
        sub = str(uuid.uuid4())
        token = self.signer.token(sub, roles=("citizen",), cin=cin)
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
            "INSERT INTO correspondence.administrations (id, code, name_ar, name_fr, kind, "
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
        query = "SELECT payload FROM correspondence.outbox"
        if event_type is not None:
            query += " WHERE type = :type"
        rows = await self.rows(query + " ORDER BY created_at, id", type=event_type)
        return [json.loads(row["payload"]) for row in rows]

    async def upload(
        self,
        person: Person,
        content: bytes = PDF,
        filename: str = "piece.pdf",
        declared: str = "application/pdf",
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/files", files={"file": (filename, content, declared)}, headers=person.headers
        )

    async def file_id(self, person: Person, content: bytes = PDF, name: str = "piece.pdf") -> str:
        response = await self.upload(person, content, name)
        assert response.status_code == 201, response.text
        return str(response.json()["file_id"])

    async def send(
        self,
        person: Person,
        recipient: Administration,
        *,
        subject: str = "Demande de certificat de résidence",
        body: str = "Je sollicite la délivrance d'un certificat de résidence.",
        file_ids: list[str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """File a letter over HTTP and return the answer (asserting 201)."""
        payload = {
            "recipient_administration_id": str(recipient.id),
            "subject": subject,
            "body": body,
            "file_ids": file_ids or [],
        } | extra
        response = await self.client.post(
            "/v1/correspondence", json=payload, headers=person.headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def step(
        self, person: Person, correspondence_id: str, action: str, body: Any = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/correspondence/{correspondence_id}/{action}", json=body, headers=person.headers
        )

    async def read(self, person: Person, correspondence_id: str) -> httpx.Response:
        return await self.client.get(
            f"/v1/correspondence/{correspondence_id}", headers=person.headers
        )

    def stored_files(self) -> list[Path]:
        root = Path(self.settings.storage_url)
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def eventually(check: Any, *, within: float = 10.0, interval: float = 0.05) -> Any:
    """Wait until `check()` (sync or async) returns something truthy; return it."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {within}s: {result!r}")
        await asyncio.sleep(interval)


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
    settings: CorrespondenceSettings, *, signer: Signer, clock: Clock
) -> AsyncIterator[Service]:
    """A fresh correspondence app on its own in-process bus, inside its lifespan."""
    bus = InProcessTransport()
    await bus.open()
    try:
        app = create_app(settings, transport=bus, jwks_fetcher=signer.jwks, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://correspondence", timeout=60
            ) as client:
                yield Service(app, client, signer, settings, clock)
    finally:
        await bus.close()
