"""What the files API answers."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    file_id: uuid.UUID = Field(validation_alias="id")
    filename: str
    sha256: str = Field(description="Lower-case hex SHA-256 of the content, as received")
    size: int
    content_type: str = Field(description="As read from the content: PDF, JPEG or PNG")
    created_at: datetime
