"""Publishing many events at once, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_shared.events.catalogue import EventData
from marfiq_shared.events.envelope import CloudEvent, current_correlation_id
from marfiq_shared.events.outbox import OUTBOX_KEY, SOURCE_KEY, add_event
from marfiq_shared.tracing import current_traceparent


async def add_events(session: AsyncSession, events: Sequence[tuple[EventData, str | None]]) -> None:
    """Record (data, subject) events with one multi-row insert instead of one per event.

    The last goes through `add_event`, which is what tells the relay to publish right
    after the commit instead of at its next poll.
    """
    if not events:
        return
    *bulk, (last, last_subject) = events
    if bulk:
        source, outbox = session.info[SOURCE_KEY], session.info[OUTBOX_KEY]
        correlation, traceparent = current_correlation_id.get(), current_traceparent.get()
        rows = []
        for data, subject in bulk:
            envelope = CloudEvent(
                source=source,
                type=data.type,
                subject=subject,
                data=data.model_dump(mode="json"),
                correlationid=correlation,
                traceparent=traceparent,
            )
            rows.append(
                {
                    "id": UUID(envelope.id),
                    "type": envelope.type,
                    "subject": subject,
                    "payload": envelope.to_json(),
                    "created_at": envelope.time,
                }
            )
        await session.execute(outbox.insert(), rows)
    await add_event(session, last, subject=last_subject)
