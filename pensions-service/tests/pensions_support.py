"""Helpers of the pensions tests: a frozen clock, real ES256 tokens, the app running, and
ways to make affiliates, declarations and callers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm
from sqlalchemy import text

from marfiq_pensions.app import create_app
from marfiq_pensions.declarations.worker import DeclarationWorker
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.db import Database
from marfiq_shared.events.inprocess import InProcessTransport

ISSUER, AUDIENCE = "https://marfiq.test", "marfiq"
# Monday 10 November 2025, 10:00 in Casablanca: October 2025 is the month employers declare.
START = datetime(2025, 11, 10, 9, 0, tzinfo=UTC)
PERIOD = "2025-10"


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

    def token(self, sub: str, *, roles: tuple[str, ...], **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
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
        body |= {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(
            body, self.key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"}
        )


def make_settings(database_url: str, **overrides: Any) -> PensionsSettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "marfiq_issuer": ISSUER,
        "marfiq_audience": AUDIENCE,
        "log_json": False,
        "amqp_url": None,
        # Tests drive the workers themselves, step by step.
        "declaration_worker_enabled": False,
        "payment_run_enabled": False,
        "declaration_chunk_rows": 500,
        "max_body_bytes": 8 * 1024 * 1024,
    }
    return PensionsSettings(**(values | overrides))


@dataclass
class Caller:
    """Someone calling the API: their sub, their token's claims and their bearer header."""

    sub: str
    headers: dict[str, str]
    sid: str | None = None
    cin: str | None = None
    administration_id: uuid.UUID | None = None


@dataclass
class Employer:
    id: uuid.UUID
    code: str


@dataclass
class Service:
    """The running service, its client, its clock, and ways to make callers and data."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: FrozenClock
    signer: Signer
    settings: PensionsSettings
    employers: list[Employer] = field(default_factory=list)

    @property
    def database(self) -> Database:
        database: Database = self.app.state.db
        return database

    @property
    def worker(self) -> DeclarationWorker:
        worker: DeclarationWorker = self.app.state.declaration_worker
        return worker

    def _caller(self, sub: str, roles: tuple[str, ...], **claims: Any) -> Caller:
        sid = uuid.uuid4().hex
        token = self.signer.token(sub, roles=roles, sid=sid, **claims)
        return Caller(
            sub, {"Authorization": f"Bearer {token}"}, sid, claims.get("cin"), claims.get("adm")
        )

    def citizen(self, cin: str | None = None, *, acr: str = "substantial") -> Caller:
        """A citizen; `cin` is the proven CIN their token carries (none: not proven)."""
        return self._caller(str(uuid.uuid4()), ("citizen",), cin=cin, acr=acr)

    def client_of(self, employer: Employer, scope: str = "pensions:declare") -> Caller:
        sub = f"client-{uuid.uuid4().hex[:8]}"
        return self._caller(sub, ("client",), adm=str(employer.id), scope=scope, acr="low")

    def agent_of(self, employer: Employer) -> Caller:
        return self._caller(str(uuid.uuid4()), ("agent",), adm=str(employer.id))

    async def employer(self, code: str, *, active: bool = True) -> Employer:
        """An administration in the local directory replica, as identity's events leave it."""
        employer = Employer(uuid.uuid4(), code)
        await self.execute(
            "INSERT INTO pensions.administrations (id, code, name_ar, name_fr, kind, "
            "parent_id, active, version, updated_at) VALUES (:id, :code, :ar, :fr, 'ministry', "
            "NULL, :active, 1, now())",
            id=employer.id,
            code=code,
            ar=f"إدارة {code}",
            fr=f"Administration {code}",
            active=active,
        )
        return employer

    async def affiliate(
        self,
        cin: str,
        *,
        number: str | None = None,
        regime: str = "civil",
        status: str = "active",
        birth_date: date | None = date(1975, 4, 12),
        phone: str | None = None,
        names: tuple[str, str] = ("Alaoui", "Samira"),
        pension_start: date | None = None,
        monthly_pension: Decimal | None = None,
    ) -> dict[str, Any]:
        """An affiliate the fund already holds; its id and affiliation number."""
        now = self.clock()
        rows = await self.rows(
            "INSERT INTO pensions.affiliates (id, affiliation_number, cin, last_name, first_name, "
            "birth_date, regime, status, phone, pension_start, monthly_pension, created_at, "
            "updated_at) VALUES (:id, coalesce(:number, lpad(nextval("
            "'pensions.affiliation_numbers')::text, 9, '0')), :cin, :last, :first, :birth, "
            ":regime, :status, :phone, :start, :pension, :now, :now) "
            "RETURNING id, affiliation_number",
            id=uuid.uuid4(),
            number=number,
            cin=cin,
            last=names[0],
            first=names[1],
            birth=birth_date,
            regime=regime,
            status=status,
            phone=phone,
            start=pension_start,
            pension=monthly_pension,
            now=now,
        )
        return dict(rows[0])

    async def history(
        self,
        affiliate_id: uuid.UUID,
        start: date,
        end: date,
        salary: str,
        *,
        employer: Employer | None = None,
        grade: str | None = None,
    ) -> None:
        """A period of service from the fund's records (before online declarations)."""
        await self.execute(
            "INSERT INTO pensions.career_periods (id, affiliate_id, employer_id, employer_name, "
            "grade, start_date, end_date, monthly_salary, days, created_at) VALUES (:id, :a, "
            ":e, :name, :grade, :start, :end, :salary, NULL, now())",
            id=uuid.uuid4(),
            a=affiliate_id,
            e=employer.id if employer else None,
            name=f"Administration {employer.code}" if employer else "Ministère",
            grade=grade,
            start=start,
            end=end,
            salary=Decimal(salary),
        )

    async def declare(
        self,
        caller: Caller,
        rows: list[dict[str, Any]],
        *,
        period: str = PERIOD,
        **extra: Any,
    ) -> httpx.Response:
        body = {"period": period, "rows": rows} | extra
        return await self.client.post(
            "/v1/pensions/declarations", json=body, headers=caller.headers
        )

    async def declare_csv(
        self, caller: Caller, content: str | bytes, **params: str
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/pensions/declarations",
            content=content.encode() if isinstance(content, str) else content,
            params=params,
            headers=caller.headers | {"Content-Type": "text/csv"},
        )

    async def process(self) -> None:
        """Run the declaration worker until nothing is left."""
        await self.worker.run_once()

    async def execute(self, query: str, **params: Any) -> None:
        async with self.database.sessionmaker() as session, session.begin():
            await session.execute(text(query), params)

    async def scalar(self, query: str, **params: Any) -> Any:
        async with self.database.sessionmaker() as session:
            return (await session.execute(text(query), params)).scalar()

    async def rows(self, query: str, **params: Any) -> list[Any]:
        async with self.database.sessionmaker() as session, session.begin():
            return list((await session.execute(text(query), params)).mappings().all())

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Outbox envelopes in the order they were written, optionally of one type."""
        query = "SELECT payload FROM pensions.outbox"
        if event_type is not None:
            query += " WHERE type = :type"
        rows = await self.rows(query + " ORDER BY created_at, id", type=event_type)
        return [json.loads(row["payload"]) for row in rows]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a response, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://marfiq.ma/problems/")
    return body


def cins(count: int, *, prefix: str = "AB") -> list[str]:
    """`count` distinct CINs."""
    return [f"{prefix}{n:06d}" for n in range(1, count + 1)]


def rows_for(
    people: Iterable[str], *, salary: str = "8000.00", days: int = 30, **extra: Any
) -> list[dict[str, Any]]:
    """Declaration rows of new employees (no affiliation number), one per CIN."""
    return [
        {"cin": cin, "days_worked": days, "gross_salary": salary, "birth_date": "1980-01-01"}
        | extra
        for cin in people
    ]


@asynccontextmanager
async def running(
    settings: PensionsSettings, *, clock: FrozenClock, signer: Signer
) -> AsyncIterator[Service]:
    """A fresh pensions app on its own in-process bus, inside its lifespan."""
    bus = InProcessTransport()
    await bus.open()
    try:
        app = create_app(settings, transport=bus, jwks_fetcher=signer.jwks, clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://pensions") as client:
                yield Service(app, client, clock, signer, settings)
    finally:
        await bus.close()
