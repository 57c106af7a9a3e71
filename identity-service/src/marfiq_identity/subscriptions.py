"""The only place that says which events the identity service consumes."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from marfiq_shared.events.consumer import Handler

SUBSCRIPTIONS: dict[str, Handler] = {
    # Another service asks to tell a person something: queued, delivered once per channel.
    NotificationRequested.type: on_notification_requested,  # type: ignore[dict-item]
    # The pension fund vouches for an affiliate's phone: codes to it prove the CIN.
    AffiliateContactRegistered.type: on_contact_registered,  # type: ignore[dict-item]
    # A complaint stayed overdue: its administration's supervisors are told.
    ComplaintEscalated.type: on_complaint_escalated,  # type: ignore[dict-item]
}
