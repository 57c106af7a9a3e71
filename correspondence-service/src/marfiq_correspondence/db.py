"""The correspondence schema: metadata, declarative base, and the tables every service has."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from marfiq_shared.db import service_metadata
from marfiq_shared.directory import administrations_replica_table
from marfiq_shared.events.inbox import inbox_table
from marfiq_shared.events.outbox import outbox_table
from marfiq_shared.idempotency import idempotency_table

SCHEMA = "correspondence"
metadata = service_metadata(SCHEMA)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
idempotency = idempotency_table(metadata)
administrations = administrations_replica_table(metadata)


class Base(DeclarativeBase):
    """Base of the service's typed models; every table lands in `correspondence`."""

    metadata = metadata
