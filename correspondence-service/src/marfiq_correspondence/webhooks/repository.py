"""Every query on webhook endpoints, deliveries and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from marfiq_shared.db import session_driver


async def add_endpoint(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(WebhookEndpoint).values(**values))


async def endpoints_of(
    session: AsyncSession, administration_id: uuid.UUID
) -> Sequence[WebhookEndpoint]:
    statement = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.administration_id == administration_id, WebhookEndpoint.active)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return (await session.scalars(statement)).all()


async def endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, administration_id: uuid.UUID
) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.administration_id == administration_id,
        WebhookEndpoint.active,
    )
    return (await session.scalars(statement)).first()


def queue_statement(first: int, *, number_token: str | None = None) -> str:
    """INSERT one event's deliveries: one per active endpoint of the concerned
    administrations that subscribed to its type (none in the common case). Parameters
    from `$first` on: the event's id, type, payload, time, the concerned administrations.
    A statement of its own, or a CTE of a larger one (a hot path's single round trip).

    In a person's filing the payload holds a token where the registration number goes,
    taken by the same statement: `number_token` names the token's parameter, and a CTE
    `numbered` of that statement gives the number (`correspondence.filing`)."""
    event_id, event_type, payload, at, concerned = (f"${first + n}" for n in range(5))
    body = f"{payload}::bytea"
    source = "correspondence.webhook_endpoints"
    if number_token is not None:
        body = (
            f"convert_to(replace(convert_from({body}, 'UTF8'), {number_token}, numbered.text),"
            " 'UTF8')"
        )
        source += ", numbered"
    # Built from numbers, never from a request.
    return f"""INSERT INTO correspondence.webhook_deliveries
        (id, endpoint_id, event_id, event_type, payload, status, attempts,
         next_attempt_at, created_at)
    SELECT gen_random_uuid(), id, {event_id}::uuid, {event_type}::varchar, {body},
        'pending', 0, {at}::timestamptz, {at}::timestamptz
    FROM {source}
    WHERE administration_id = ANY({concerned}::uuid[]) AND active
        AND {event_type}::varchar = ANY(event_types)"""  # noqa: S608


_QUEUE = queue_statement(1)


async def queue(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    event_type: str,
    payload: bytes,
    at: datetime,
    concerned: Sequence[uuid.UUID],
) -> int:
    """Queue one event's deliveries in the session's transaction, begun by the event's
    outbox row; how many.

    Sent on the session's asyncpg connection: one statement per step, on every step, and
    SQLAlchemy's statement layer would cost more CPU than the statement itself."""
    connection = await session_driver(session)
    status = await connection.execute(_QUEUE, event_id, event_type, payload, at, concerned)
    return int(status.rsplit(" ", 1)[1])  # "INSERT 0 <rows>"


_CLAIM = text(
    """
    UPDATE correspondence.webhook_deliveries AS d
       SET next_attempt_at = :lease_until, attempts = d.attempts + 1
      FROM correspondence.webhook_endpoints AS e
     WHERE d.id IN (
               SELECT id FROM correspondence.webhook_deliveries
                WHERE status = 'pending' AND next_attempt_at <= :now
                ORDER BY next_attempt_at
                LIMIT :batch
                  FOR UPDATE SKIP LOCKED)
       AND e.id = d.endpoint_id
    RETURNING d.id, d.payload, d.attempts, e.url, e.secret, e.active
    """
)


async def claim_due(
    session: AsyncSession, *, now: datetime, lease: timedelta, batch: int
) -> Sequence[Any]:
    """Take due deliveries for a while (other replicas skip them; if this process dies,
    they are due again once the lease ends)."""
    result = await session.execute(_CLAIM, {"now": now, "lease_until": now + lease, "batch": batch})
    return result.all()


async def record_attempt(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
    outcome: dict[str, Any],
) -> None:
    await session.execute(
        insert(WebhookAttempt).values(
            delivery_id=delivery_id,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    await session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id).values(**outcome)
    )


async def deliveries_page(
    session: AsyncSession,
    *,
    endpoint_id: uuid.UUID,
    status: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[WebhookDelivery]:
    conditions = [WebhookDelivery.endpoint_id == endpoint_id]
    if status is not None:
        conditions.append(WebhookDelivery.status == status)
    if after is not None:
        conditions.append(tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < after)
    statement = (
        select(WebhookDelivery)
        .where(and_(*conditions))
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> Sequence[WebhookAttempt]:
    if not delivery_ids:
        return []
    statement = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    )
    return (await session.scalars(statement)).all()


async def delivery(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    statement = (
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
        .with_for_update()
    )
    return (await session.scalars(statement)).first()
