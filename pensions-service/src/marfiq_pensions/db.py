"""The pensions schema: metadata, declarative base, and the tables every service has."""

from __future__ import annotations

from sqlalchemy import Sequence
from sqlalchemy.orm import DeclarativeBase

from marfiq_shared.db import service_metadata
from marfiq_shared.directory import administrations_replica_table
from marfiq_shared.events.inbox import inbox_table
from marfiq_shared.events.outbox import outbox_table
from marfiq_shared.idempotency import idempotency_table

SCHEMA = "pensions"
metadata = service_metadata(SCHEMA)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
idempotency = idempotency_table(metadata)
administrations = administrations_replica_table(metadata)

# Affiliation numbers the fund allocates to people first declared without one: nine digits.
AFFILIATION_NUMBERS = Sequence("affiliation_numbers", metadata=metadata, start=100_000_001)


class Base(DeclarativeBase):
    """Base of the pensions service's typed models; every table lands in `pensions`."""

    metadata = metadata
