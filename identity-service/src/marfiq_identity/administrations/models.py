"""The administration: a ministry, public establishment, local authority …"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_identity.db import Base


class AdministrationKind(StrEnum):
    ministry = "ministry"
    # A directorate of a ministry with its own counters (DGI, customs …).
    directorate = "directorate"
    public_establishment = "public_establishment"
    public_company = "public_company"
    region = "region"
    prefecture = "prefecture"
    province = "province"
    commune = "commune"
    other = "other"


_KINDS = ", ".join(f"'{kind.value}'" for kind in AdministrationKind)


class Administration(Base):
    __tablename__ = "administrations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        Index("ix_administrations_search_vector", "search_vector", postgresql_using="gin"),
        # The list order and its cursor: (sort_name, id).
        Index("ix_administrations_sort_name_id", "sort_name", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ar: Mapped[str] = mapped_column(String(300))
    name_fr: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("identity.administrations.id"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Written by the service from the names and the code (see search.py).
    search_document: Mapped[str] = mapped_column(Text)
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple'::regconfig, search_document)", persisted=True),
    )
    sort_name: Mapped[str] = mapped_column(String(300))
