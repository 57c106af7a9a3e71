"""The only place that says which events the identity service consumes."""

from __future__ import annotations

from marfiq_identity.assurance.service import on_contact_registered
from marfiq_identity.notifications.service import (
    on_complaint_escalated,
    on_notification_requested,
)
from marfiq_shared.events.catalogue import (
    AffiliateContactRegistered,
    ComplaintEscalated,
    NotificationRequested,
)
from marfiq_shared.events.consumer import DriverHandler, Handler

SUBSCRIPTIONS: dict[str, Handler] = {
    # Another service asks to tell a person something: queued, delivered once per channel.
    # One statement on the driver: no ORM session around it (~1-2 ms of CPU per batch).
    NotificationRequested.type: DriverHandler(on_notification_requested),  # type: ignore[arg-type]
    # The pension fund vouches for an affiliate's phone: codes to it prove the CIN.
    AffiliateContactRegistered.type: on_contact_registered,  # type: ignore[dict-item]
    # A complaint stayed overdue: its administration's supervisors are told.
    ComplaintEscalated.type: on_complaint_escalated,  # type: ignore[dict-item]
}
