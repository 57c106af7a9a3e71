"""An uploaded file, before and after it is attached to a correspondence."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from marfiq_correspondence.db import Base


class StoredFile(Base):
    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_owner_sub_created_at", "owner_sub", "created_at"),
        # The janitor's scan: files uploaded but never attached.
        Index("ix_files_unattached", "created_at", postgresql_where=text("attached_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    owner_sub: Mapped[str] = mapped_column(String(128))
    # Set when an agent or partner client uploaded it: any of that administration may use it.
    owner_administration_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    filename: Mapped[str] = mapped_column(String(255))
    # As sniffed from the content, never as declared by the client.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
