"""Every table of the service, imported so that Alembic sees them all."""

from marfiq_correspondence.correspondence.models import (
    CaseDocument,
    Correspondence,
    TimelineRecord,
)
from marfiq_correspondence.db import administrations, idempotency, inbox, metadata, outbox
from marfiq_correspondence.documents.models import IssuedDocument
from marfiq_correspondence.files.models import StoredFile
from marfiq_correspondence.registers.models import RegisterCounter
from marfiq_correspondence.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "CaseDocument",
    "Correspondence",
    "IssuedDocument",
    "RegisterCounter",
    "StoredFile",
    "TimelineRecord",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "administrations",
    "idempotency",
    "inbox",
    "metadata",
    "outbox",
]
