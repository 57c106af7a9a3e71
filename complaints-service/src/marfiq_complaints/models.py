"""Every table of the service, imported so that Alembic sees them all."""

from marfiq_complaints.db import administrations, idempotency, inbox, metadata, outbox

__all__ = ["administrations", "idempotency", "inbox", "metadata", "outbox"]
