"""Partners' webhook deliveries of a step, queued in the step's own transaction.

The outbox pattern, applied to webhooks: a step's deliveries are written next to its event
in the outbox, so they exist if and only if the step was committed, with nothing on the bus
to consume first. Subscribed endpoints are found by the INSERT itself (no rows when no
partner of the concerned administrations subscribed, the common case).
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_correspondence.webhooks import repository
from marfiq_correspondence.webhooks.wakeup import note_queued
from marfiq_shared.events.catalogue import CorrespondenceEvent
from marfiq_shared.events.envelope import CloudEvent


def concerned(data: CorrespondenceEvent) -> list[uuid.UUID]:
    """The administrations whose partners hear of a step: the holder, the sender
    administration, the one it came from or went to."""
    found = {data.administration_id}
    for name in (
        "sender_administration_id",
        "forwarded_from_administration_id",
        "to_administration_id",
    ):
        value = getattr(data, name, None)
        if value is not None:
            found.add(value)
    return sorted(found)


def payload_of(published: bytes) -> bytes:
    """What partners are sent for the event published as `published` (its CloudEvent
    JSON): its type, time, id, subject and data, the data as published. Partners verify
    the signature over these bytes; they are what the consumer of the published event
    built when deliveries were queued from the bus."""
    event = orjson.loads(published)
    return orjson.dumps(
        {
            "type": event["type"],
            "timestamp": event["time"],
            "id": event["id"],
            "subject": event.get("subject"),
            "data": event["data"],
        }
    )


def delivery_arguments(outbox_row: dict[str, Any], data: CorrespondenceEvent) -> list[Any]:
    """The parameters of `repository.queue_statement` for an event's outbox row."""
    return [
        outbox_row["id"],
        outbox_row["type"],
        payload_of(outbox_row["payload"]),
        outbox_row["created_at"],
        concerned(data),
    ]


async def queue_deliveries(
    session: AsyncSession, *, event: CloudEvent, data: CorrespondenceEvent
) -> None:
    """One delivery per subscribed endpoint of the administrations a step concerns, in the
    step's transaction (committed with it, or not at all, like its event)."""
    queued = await repository.queue(
        session,
        event_id=uuid.UUID(event.id),
        event_type=event.type,
        payload=payload_of(event.to_json()),
        at=event.time,
        concerned=concerned(data),
    )
    if queued:
        note_queued()
