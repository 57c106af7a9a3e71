"""Requests and answers of webhook management."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from marfiq_correspondence.correspondence.events import STEP_EVENTS

EVENT_TYPES = sorted(event.type for event in STEP_EVENTS.values())


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)]
    event_types: list[str] = Field(
        default_factory=lambda: list(EVENT_TYPES),
        description="Which correspondence events to receive; all when absent",
    )
    description: Annotated[str, StringConstraints(max_length=300)] | None = None

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown or not value:
            raise ValueError(f"choose among {EVENT_TYPES}")
        return sorted(set(value))


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(description="Shown once: verifies `webhook-signature` (whsec_…)")


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryRead(BaseModel):
    id: str = Field(description="The `webhook-id` header of the message")
    event_id: uuid.UUID
    event_type: str
    status: str = Field(description="pending, delivered or failed (retries exhausted)")
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    log: list[AttemptRead]


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    next_cursor: str | None = None
