"""Routes of webhook management (agents and partner clients of an administration)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from marfiq_correspondence.correspondence.access import Reader, Writer
from marfiq_correspondence.dependencies import Now, Settings
from marfiq_correspondence.webhooks import repository, service
from marfiq_correspondence.webhooks.schemas import (
    DeliveryPage,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from marfiq_shared.db import Session
from marfiq_shared.pagination import Cursor, Limit

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(
    body: WebhookCreate, viewer: Writer, session: Session, settings: Settings, now: Now
) -> WebhookCreated:
    """Register a URL to receive the administration's correspondence events, signed the
    Standard Webhooks way with the secret in the answer (shown once)."""
    return await service.create_endpoint(
        session, viewer=viewer, data=body, allow_insecure=settings.webhook_allow_insecure, now=now
    )


@router.get("", response_model=list[WebhookRead])
async def list_webhooks(viewer: Reader, session: Session) -> list[WebhookRead]:
    """The administration's active webhooks."""
    endpoints = await repository.endpoints_of(session, service.administration_of(viewer))
    return [WebhookRead.model_validate(item) for item in endpoints]


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(
    webhook_id: uuid.UUID, viewer: Writer, session: Session, now: Now
) -> Response:
    """Stop sending to this URL (pending deliveries end as failed)."""
    await service.disable_endpoint(session, viewer=viewer, endpoint_id=webhook_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    webhook_id: uuid.UUID,
    viewer: Reader,
    session: Session,
    state: Annotated[
        Literal["pending", "delivered", "failed"] | None, Query(alias="status")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeliveryPage:
    """The delivery log: each message, its status, and every attempt with its answer."""
    return await service.delivery_log(
        session, viewer=viewer, endpoint_id=webhook_id, status=state, limit=limit, cursor=cursor
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
)
async def redeliver(
    webhook_id: uuid.UUID,
    delivery_id: str,
    viewer: Writer,
    session: Session,
    request: Request,
    now: Now,
) -> DeliveryRead:
    """Send a message again (after the receiver lost it, or the retries ran out)."""
    read = await service.redeliver(
        session, viewer=viewer, endpoint_id=webhook_id, delivery_id=delivery_id, now=now
    )
    dispatcher = getattr(request.app.state, "webhooks", None)
    if dispatcher is not None:
        dispatcher.wake()
    return read
