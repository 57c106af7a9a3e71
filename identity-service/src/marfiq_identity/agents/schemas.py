"""Requests and answers about agents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from marfiq_shared.settings import Language

AgentRole = Literal["agent", "supervisor"]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
    phone: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=3, max_length=32)
    ] = None
    role: AgentRole = "agent"
    language: Language = "fr"


class AgentRead(BaseModel):
    id: uuid.UUID
    administration_id: uuid.UUID
    email: str | None
    phone: str | None
    roles: list[str] = Field(examples=[["agent"], ["agent", "supervisor"]])
    language: Language
    created_at: datetime
    disabled_at: datetime | None = None
