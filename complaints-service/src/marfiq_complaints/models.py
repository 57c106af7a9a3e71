"""Every table of the service, imported so that Alembic sees them all."""

from marfiq_complaints.attachments.models import Attachment
from marfiq_complaints.complaints.models import Complaint, Redirection, TimelineRecord
from marfiq_complaints.db import administrations, idempotency, inbox, metadata, outbox
from marfiq_complaints.stats.models import MonthlyStats

__all__ = [
    "Attachment",
    "Complaint",
    "MonthlyStats",
    "Redirection",
    "TimelineRecord",
    "administrations",
    "idempotency",
    "inbox",
    "metadata",
    "outbox",
]
