"""Registering webhook endpoints, and the delivery log."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.correspondence.errors import NotACorrespondenceParty
from marfiq_correspondence.webhooks import repository
from marfiq_correspondence.webhooks.errors import WebhookNotFound, WebhookUrlRefused
from marfiq_correspondence.webhooks.models import WebhookDelivery, WebhookEndpoint
from marfiq_correspondence.webhooks.schemas import (
    AttemptRead,
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
)
from marfiq_correspondence.webhooks.signature import new_secret
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor


def message_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


def administration_of(viewer: Viewer) -> uuid.UUID:
    if viewer.administration_id is None:
        raise NotACorrespondenceParty()
    return viewer.administration_id


async def check_url(url: str, *, allow_insecure: bool) -> None:
    """https to a public address, unless insecure URLs are allowed (development, tests).
    Refusing private addresses keeps partners from pointing the platform at its own
    network."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise WebhookUrlRefused("an absolute http(s) URL")
    if allow_insecure:
        return
    if parts.scheme != "https":
        raise WebhookUrlRefused("https only")
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, parts.hostname, parts.port or 443)
    except OSError as exc:
        raise WebhookUrlRefused("the host name does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookUrlRefused("the host resolves to a private address")


async def create_endpoint(
    session: AsyncSession,
    *,
    viewer: Viewer,
    data: WebhookCreate,
    allow_insecure: bool,
    now: datetime,
) -> WebhookCreated:
    """Register a URL of the caller's administration; its secret is shown this once."""
    administration_id = administration_of(viewer)
    await check_url(data.url, allow_insecure=allow_insecure)
    values = {
        "id": uuid.uuid4(),
        "administration_id": administration_id,
        "url": data.url,
        "secret": new_secret(),
        "event_types": data.event_types,
        "description": data.description,
        "active": True,
        "created_by": viewer.sub,
        "created_at": now,
        "disabled_at": None,
    }
    await repository.add_endpoint(session, values)
    return WebhookCreated.model_validate(WebhookEndpoint(**values))


async def disable_endpoint(
    session: AsyncSession, *, viewer: Viewer, endpoint_id: uuid.UUID, now: datetime
) -> None:
    found = await repository.endpoint(session, endpoint_id, administration_of(viewer))
    if found is None:
        raise WebhookNotFound()
    found.active = False
    found.disabled_at = now


def _delivery_read(item: WebhookDelivery, log: list[AttemptRead]) -> DeliveryRead:
    return DeliveryRead(
        id=message_id(item.id),
        event_id=item.event_id,
        event_type=item.event_type,
        status=item.status,
        attempts=item.attempts,
        next_attempt_at=item.next_attempt_at if item.status == "pending" else None,
        created_at=item.created_at,
        delivered_at=item.delivered_at,
        last_status_code=item.last_status_code,
        last_error=item.last_error,
        log=log,
    )


async def delivery_log(
    session: AsyncSession,
    *,
    viewer: Viewer,
    endpoint_id: uuid.UUID,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> DeliveryPage:
    """The deliveries of an endpoint, newest first, each with its attempts."""
    if await repository.endpoint(session, endpoint_id, administration_of(viewer)) is None:
        raise WebhookNotFound()
    position = decode_cursor(cursor)
    after = None
    if position is not None:
        try:
            after = (datetime.fromisoformat(position["t"]), uuid.UUID(str(position["i"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCursor() from exc
    rows = await repository.deliveries_page(
        session, endpoint_id=endpoint_id, status=status, after=after, limit=limit + 1
    )
    shown = rows[:limit]
    attempts: dict[uuid.UUID, list[AttemptRead]] = {item.id: [] for item in shown}
    for attempt in await repository.attempts_of(session, list(attempts)):
        attempts[attempt.delivery_id].append(AttemptRead.model_validate(attempt))
    next_cursor = None
    if len(rows) > limit:
        last = shown[-1]
        next_cursor = encode_cursor({"t": last.created_at.isoformat(), "i": str(last.id)})
    return DeliveryPage(
        items=[_delivery_read(item, attempts[item.id]) for item in shown], next_cursor=next_cursor
    )


async def redeliver(
    session: AsyncSession,
    *,
    viewer: Viewer,
    endpoint_id: uuid.UUID,
    delivery_id: str,
    now: datetime,
) -> DeliveryRead:
    """Send a delivery again now (a failed one, or one the partner lost), with a fresh
    series of retries."""
    if await repository.endpoint(session, endpoint_id, administration_of(viewer)) is None:
        raise WebhookNotFound()
    try:
        key = uuid.UUID(hex=delivery_id.removeprefix("msg_"))
    except ValueError as exc:
        raise WebhookNotFound() from exc
    item = await repository.delivery(session, endpoint_id, key)
    if item is None:
        raise WebhookNotFound()
    item.status = "pending"
    item.attempts = 0
    item.next_attempt_at = now
    await session.flush()
    log = [AttemptRead.model_validate(a) for a in await repository.attempts_of(session, [item.id])]
    return _delivery_read(item, log)
