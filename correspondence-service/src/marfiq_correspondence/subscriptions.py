"""The only place that says which events the correspondence service consumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marfiq_correspondence.correspondence.events import STEP_EVENTS
from marfiq_correspondence.db import administrations
from marfiq_correspondence.documents.service import record_certificate
from marfiq_correspondence.webhooks.service import queue_deliveries
from marfiq_shared.directory import replica_subscriptions
from marfiq_shared.events.catalogue import PensionCertificateIssued

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from marfiq_shared.events.catalogue import EventData
    from marfiq_shared.events.consumer import Handler
    from marfiq_shared.events.envelope import CloudEvent


async def _certificate_issued(session: AsyncSession, event: CloudEvent, data: EventData) -> None:
    assert isinstance(data, PensionCertificateIssued)
    await record_certificate(session, data)


SUBSCRIPTIONS: dict[str, Handler] = {
    **replica_subscriptions(administrations),
    PensionCertificateIssued.type: _certificate_issued,
    # The service's own events, back from the bus: partners' webhooks are queued from them,
    # never from the request that caused them.
    **{event.type: queue_deliveries for event in STEP_EVENTS.values()},
}
