"""The complaints schema: metadata, declarative base, and the tables every service has."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, Row
from sqlalchemy.orm import DeclarativeBase

from marfiq_shared.db import service_metadata
from marfiq_shared.directory import administrations_replica_table
from marfiq_shared.events.inbox import inbox_table
from marfiq_shared.events.outbox import outbox_table
from marfiq_shared.idempotency import idempotency_table

SCHEMA = "complaints"
# A result row of a hand-written statement, whatever its columns.
AnyRow = Row[*tuple[Any, ...]]
metadata = service_metadata(SCHEMA)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
idempotency = idempotency_table(metadata)
administrations = administrations_replica_table(metadata)
# The public statistics list administrations in code order, one page at a time.
Index("ix_administrations_code_id", administrations.c.code, administrations.c.id)


class Base(DeclarativeBase):
    """Base of the complaints service's typed models; every table lands in `complaints`."""

    metadata = metadata
