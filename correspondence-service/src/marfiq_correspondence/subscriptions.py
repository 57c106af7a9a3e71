"""The only place that says which events the correspondence service consumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from marfiq_correspondence.correspondence.events import STEP_EVENTS
from marfiq_correspondence.db import administrations
from marfiq_correspondence.documents.service import record_certificate
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
    # Not the service's own step events: partners' webhooks are queued in the step's
    # transaction (webhooks/queueing.py), not from the events back from the bus.
}

# Consumed no more: partners' webhooks are queued in each step's own transaction since the
# service stopped reading its own step events back from the bus. The deployment step
# (`marfiq.distributed.declare_topology`) unbinds them from an existing queue.
RETIRED: tuple[str, ...] = tuple(event.type for event in STEP_EVENTS.values())
