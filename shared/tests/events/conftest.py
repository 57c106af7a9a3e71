"""Fixtures of the event backbone tests: a throwaway database, a throwaway broker namespace."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

import aio_pika
import pytest
from sqlalchemy import Column, Integer, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateSchema

from marfiq_shared.db import Database, JoinedTransaction, service_metadata
from marfiq_shared.events import (
    AdministrationCreated,
    CloudEvent,
    EventData,
    add_event,
    inbox_table,
    outbox_table,
)
from marfiq_shared.settings import MarfiqSettings
from marfiq_shared.testing import (
    amqp_test_url,
    create_database,
    drop_database,
    postgres_admin_url,
    require_url,
)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    admin = postgres_admin_url()
    require_url(admin, "Postgres")
    url = await create_database(admin, prefix="marfiq_events_test")
    yield url
    await drop_database(admin, url)


@dataclass
class Service:
    """A service's slice of a database: its outbox, inbox and a table of applied events."""

    database: Database
    outbox: Table
    inbox: Table
    applied: Table  # event id -> how many times a handler applied it
    source: str

    async def apply(
        self, session: AsyncSession | JoinedTransaction, event: CloudEvent, data: EventData
    ) -> None:
        """A handler that counts, so that a second application shows as count 2; through
        the driver when it is given a driver transaction (`DriverHandler`)."""
        if isinstance(session, JoinedTransaction):
            table = f"{self.applied.schema}.{self.applied.name}"
            await session.driver.execute(
                f"INSERT INTO {table} AS a (id, count) VALUES ($1, 1)"
                " ON CONFLICT (id) DO UPDATE SET count = a.count + 1",
                uuid.UUID(event.id),
            )
            return
        await session.execute(
            insert(self.applied)
            .values(id=uuid.UUID(event.id), count=1)
            .on_conflict_do_update(
                index_elements=[self.applied.c.id], set_={"count": self.applied.c.count + 1}
            )
        )

    async def counts(self) -> dict[uuid.UUID, int]:
        async with self.database.sessionmaker() as session:
            rows = await session.execute(select(self.applied.c.id, self.applied.c.count))
            return {row.id: row.count for row in rows}

    async def scalar(self, query: object) -> int:
        async with self.database.sessionmaker() as session:
            return int((await session.execute(query)).scalar_one())  # type: ignore[call-overload]

    async def applied_total(self) -> int:
        return await self.scalar(select(func.count()).select_from(self.applied))

    async def unpublished(self) -> int:
        query = select(func.count()).where(self.outbox.c.published_at.is_(None))
        return await self.scalar(query)

    async def add_events(self, count: int, *, per_transaction: int = 500) -> list[str]:
        """Commit `count` administration events in the outbox; their ids."""
        ids: list[str] = []
        while len(ids) < count:
            async with self.database.sessionmaker() as session, session.begin():
                for _ in range(min(per_transaction, count - len(ids))):
                    event = await add_event(session, administration_created())
                    ids.append(event.id)
        return ids


def administration_created(version: int = 1) -> AdministrationCreated:
    return AdministrationCreated(
        id=uuid.uuid4(),
        code="MIN-SANTE",
        name_ar="وزارة الصحة",
        name_fr="Ministère de la Santé",
        kind="ministry",
        parent_id=None,
        active=True,
        version=version,
        occurred_at="2025-01-01T09:00:00Z",  # type: ignore[arg-type]
    )


ServiceFactory = Callable[[], Awaitable[Service]]


@pytest.fixture
async def make_service(database_url: str) -> AsyncIterator[ServiceFactory]:
    """Build services, each in a schema of its own, disposed of after the test."""
    made: list[Service] = []

    async def make() -> Service:
        schema = f"svc_{uuid.uuid4().hex[:10]}"
        metadata = service_metadata(schema)
        outbox = outbox_table(metadata)
        applied = Table(
            "applied",
            metadata,
            Column("id", Uuid, primary_key=True),
            Column("count", Integer, nullable=False),
        )
        service = Service(
            Database(database_url, schema=schema, source=f"{schema}-service", outbox=outbox),
            outbox,
            inbox_table(metadata),
            applied,
            f"{schema}-service",
        )
        async with service.database.engine.begin() as connection:
            await connection.execute(CreateSchema(schema))
            await connection.run_sync(metadata.create_all)
        made.append(service)
        return service

    yield make
    for service in made:
        await service.database.dispose()


@pytest.fixture
async def service(make_service: ServiceFactory) -> Service:
    return await make_service()


@dataclass
class Broker:
    """A namespace of exchange and queues on the shared broker, deleted after the run."""

    url: str
    exchange: str
    queues: list[str]

    @property
    def host_port(self) -> tuple[str, int]:
        parsed = urlsplit(self.url)
        return parsed.hostname or "127.0.0.1", parsed.port or 5672

    def url_via(self, port: int) -> str:
        """The broker URL with the port of a proxy in front of it."""
        parsed = urlsplit(self.url)
        return parsed._replace(netloc=f"{parsed.netloc.rsplit(':', 1)[0]}:{port}").geturl()

    def queue(self, name: str) -> str:
        full = f"{self.exchange}.{name}"
        self.queues.append(full)
        return full

    def settings(self, url: str | None = None, **overrides: object) -> MarfiqSettings:
        values: dict[str, object] = {
            "amqp_url": url or self.url,
            "event_exchange": self.exchange,
            "event_retry_delays_ms": [50, 100],
            "event_relay_idle_ms": 20,
            **overrides,
        }
        return MarfiqSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def broker() -> AsyncIterator[Broker]:
    """Names on the shared broker for this run; connects only to clean up what was used."""
    found = Broker(amqp_test_url(), f"marfiq-test-{uuid.uuid4().hex[:8]}", [])
    yield found
    if not found.queues:
        return
    connection = await aio_pika.connect(found.url)
    try:
        names = [
            f"{queue}{suffix}"
            for queue in found.queues
            for suffix in ("", ".dlq", *(f".retry.{n}" for n in range(1, 6)))
        ]
        for name in names:
            channel = await connection.channel()
            with suppress(aio_pika.exceptions.AMQPError):
                await channel.queue_delete(name)  # a missing one closes the channel
        channel = await connection.channel()
        await channel.exchange_delete(found.exchange)
    finally:
        await connection.close()


@pytest.fixture
def rabbitmq(broker: Broker) -> Broker:
    """The broker, after checking that it answers (skip, or fail in CI)."""
    require_url(broker.url, "RabbitMQ")
    return broker


async def _eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 20.0, every: float = 0.05
) -> None:
    async with asyncio.timeout(within):
        # Polling on purpose: the state is in Postgres, no event to wait on.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(every)


@pytest.fixture
def eventually() -> Callable[..., Awaitable[None]]:
    """`await eventually(check, within=...)`: wait until `check()` is true, or fail."""
    return _eventually


@pytest.fixture
def new_administration() -> Callable[..., AdministrationCreated]:
    """`new_administration(version=1)`: the data of an `identity.administration.created`."""
    return administration_created
