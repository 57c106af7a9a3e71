"""What the operator's command line does, one function per command, no argument parsing.

Writes go through the identity service's own functions, in one transaction on a session
that carries identity's outbox: whatever event the function records (an administration
was created …) is published by the running relay exactly as if the API had done it.
Reads (outbox lag, dead letters) only look.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq.services import SERVICES, ServiceSpec, service
from marfiq_shared.db import Database
from marfiq_shared.events.rabbitmq import RabbitMQTransport, dlq_name
from marfiq_shared.events.transport import DeadLetter
from marfiq_shared.problems import Problem
from marfiq_shared.settings import MarfiqSettings

OPERATOR = "operator:cli"  # who created what, in identity's records


class OperatorError(Exception):
    """A refusal the operator can act on (printed, exit status 1)."""


def settings_class(spec: ServiceSpec) -> type[MarfiqSettings]:
    """The service's own Settings: it knows its env prefix, schema and queue name."""
    module = importlib.import_module(f"{spec.package}.settings")
    return next(
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, MarfiqSettings)
        and value.__module__ == module.__name__
    )


def service_settings(name: str) -> MarfiqSettings:
    """The settings a service would read from this environment (its own URL wins)."""
    return settings_class(service(name))()


@asynccontextmanager
async def identity_transaction(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session of identity with its outbox, committed once at the end (or rolled back)."""
    from marfiq_identity.db import SCHEMA, outbox

    database = Database(
        database_url, schema=SCHEMA, source="identity-service", outbox=outbox, pool_size=1
    )
    try:
        async with database.sessionmaker() as session, session.begin():
            yield session
    except Problem as problem:
        raise OperatorError(f"{problem.code}: {problem}") from None
    finally:
        await database.dispose()


# ---------------------------------------------------------------- identity


async def create_admin(database_url: str, *, email: str, language: str) -> str:
    """Make sure a platform administrator with this e-mail exists; return its account id."""
    from marfiq_identity.accounts.service import bootstrap_platform_admin

    async with identity_transaction(database_url) as session:
        account = await bootstrap_platform_admin(
            session,
            email=email,
            language=language,  # type: ignore[arg-type]  # checked by argparse choices
        )
    if account is None:
        raise OperatorError(f"{email} belongs to an account that is not an administrator")
    return str(account.id)


async def create_administration(
    database_url: str,
    *,
    code: str,
    name_fr: str,
    name_ar: str,
    kind: str,
    parent_code: str | None = None,
) -> str:
    """Add an administration (its `identity.administration.created` event rides along)."""
    from marfiq_identity.administrations import repository
    from marfiq_identity.administrations.schemas import AdministrationCreate
    from marfiq_identity.administrations.service import create_administration as create

    async with identity_transaction(database_url) as session:
        parent_id = None
        if parent_code is not None:
            parent_id = await repository.id_by_code(session, parent_code)
            if parent_id is None:
                raise OperatorError(f"no administration has the code {parent_code}")
        try:
            data = AdministrationCreate.model_validate(
                {
                    "code": code,
                    "name_fr": name_fr,
                    "name_ar": name_ar,
                    "kind": kind,
                    "parent_id": parent_id,
                }
            )
        except ValidationError as error:
            raise OperatorError(_invalid(error)) from None
        created = await create(session, data=data)
    return str(created.id)


@dataclass(frozen=True)
class CreatedClient:
    client_id: str
    client_secret: str
    administration_id: str
    scopes: list[str]


async def create_client(
    database_url: str, *, administration_code: str, name: str, scopes: list[str]
) -> CreatedClient:
    """Register a partner client of an administration; the clear secret exists only here."""
    from marfiq_identity.administrations import repository
    from marfiq_identity.clients.schemas import ClientCreate
    from marfiq_identity.clients.service import create_client as create

    try:
        data = ClientCreate(name=name, scopes=scopes)
    except ValidationError as error:
        raise OperatorError(_invalid(error)) from None
    async with identity_transaction(database_url) as session:
        administration_id = await repository.id_by_code(session, administration_code)
        if administration_id is None:
            raise OperatorError(f"no administration has the code {administration_code}")
        created = await create(
            session, administration_id=administration_id, data=data, created_by=OPERATOR
        )
    assert created.client_secret is not None  # a creation, never a replay
    return CreatedClient(
        client_id=created.client_id,
        client_secret=created.client_secret,
        administration_id=str(administration_id),
        scopes=list(created.scopes),
    )


async def rotate_keys(*, revoke_previous: bool) -> str:
    """Make a new signing key current now; return its `kid`."""
    from marfiq_identity.keys.service import rotate_keys as rotate
    from marfiq_identity.settings import IdentitySettings

    settings = IdentitySettings()
    if settings.key_encryption_secret is None:
        raise OperatorError("IDENTITY_KEY_ENCRYPTION_SECRET is not set")
    try:
        return await rotate(settings, revoke_previous=revoke_previous)
    except Problem as problem:
        raise OperatorError(f"{problem.code}: {problem}") from None


def _invalid(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())


# ---------------------------------------------------------------- outbox lag


@dataclass(frozen=True)
class OutboxLag:
    service: str
    backlog: int
    oldest_age_s: float | None  # age of the oldest unpublished event; None when empty


async def outbox_lag(*, now: datetime | None = None) -> list[OutboxLag]:
    """Per service: unpublished events and the age of the oldest (the relay's lag)."""
    lags = []
    for spec in SERVICES:
        db = importlib.import_module(f"{spec.package}.db")
        table = db.outbox
        database = Database(
            service_settings(spec.name).database_url,
            schema=db.SCHEMA,
            source="marfiq-operator",
            pool_size=1,
        )
        try:
            async with database.sessionmaker() as session:
                # Served by the partial index on unpublished rows: cheap however many
                # published rows are kept.
                count, oldest = (
                    await session.execute(
                        select(func.count(), func.min(table.c.created_at)).where(
                            table.c.published_at.is_(None)
                        )
                    )
                ).one()
        finally:
            await database.dispose()
        age = None
        if oldest is not None:
            age = max(0.0, ((now or datetime.now(UTC)) - oldest).total_seconds())
        lags.append(OutboxLag(spec.name, int(count), age))
    return lags


# ---------------------------------------------------------------- dead letters


def queue_of(name: str) -> str:
    """The consuming queue of a service, as the service itself names it."""
    cls = settings_class(service(name))
    return cls().event_queue_prefix + cls.service_name


@asynccontextmanager
async def broker(name: str) -> AsyncIterator[RabbitMQTransport]:
    settings = service_settings(name)
    if not settings.amqp_url:
        raise OperatorError("AMQP_URL is not set")
    transport = RabbitMQTransport(
        settings.amqp_url, settings.event_exchange, name="marfiq-operator", reconnect_interval=1
    )
    await transport.open()
    try:
        yield transport
    finally:
        await transport.close()


async def dlq_counts(names: list[str]) -> dict[str, int | None]:
    """Dead letters per service; None when its queue was never declared."""
    from marfiq_shared.events.transport import UnknownQueue

    counts: dict[str, int | None] = {}
    for name in names:
        async with broker(name) as transport:
            try:
                counts[name] = await transport.dlq_count(queue_of(name))
            except UnknownQueue:
                counts[name] = None
    return counts


async def dlq_peek(name: str, *, limit: int) -> list[DeadLetter]:
    """Read dead letters without taking them (they stay in the queue, in order)."""
    async with broker(name) as transport:
        return await transport.dlq_peek(queue_of(name), limit=limit)


async def dlq_replay(name: str, *, limit: int | None) -> int:
    """Move dead letters back to the service's queue, attempts reset; return how many."""
    async with broker(name) as transport:
        return await transport.dlq_replay(queue_of(name), limit=limit)


def dlq_of(name: str) -> str:
    return dlq_name(queue_of(name))
