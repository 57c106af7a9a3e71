"""The identity schema: metadata, declarative base, and the tables every service has."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.dialects.postgresql import DOMAIN
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.operators import OperatorClass

from marfiq_shared.db import service_metadata
from marfiq_shared.events.inbox import inbox_table
from marfiq_shared.events.outbox import outbox_table
from marfiq_shared.idempotency import idempotency_table

SCHEMA = "identity"
metadata = service_metadata(SCHEMA)

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
idempotency = idempotency_table(metadata)


class Base(DeclarativeBase):
    """Base of the identity service's typed models; every table lands in `identity`."""

    metadata = metadata


class _StringDomain(DOMAIN):
    # SQLAlchemy's DOMAIN names no operator classes and warns at every comparison; these
    # domains are strings.
    operator_classes = OperatorClass.STRING


def closed_list(name: str, length: int, *values: str) -> DOMAIN:
    """A varchar domain of the identity schema admitting only `values` (created by a
    migration): Postgres keeps a domain's check planned in its type cache, while a table's
    CHECK is rebuilt from its stored text by every statement that writes a row."""
    listed = ", ".join(f"'{value}'" for value in values)
    return _StringDomain(
        name, String(length), check=f"VALUE IN ({listed})", schema=SCHEMA, create_type=False
    )
