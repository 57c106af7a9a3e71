"""The CloudEvents 1.0 JSON envelope every Marfiq event travels in."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

# Set by whoever starts a unit of work (a request middleware, the event consumer) so that
# events emitted further down carry the same correlation id without threading it through
# every service function.
current_correlation_id: ContextVar[str | None] = ContextVar("marfiq_correlation_id", default=None)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid4())


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode, with Marfiq's two extensions."""

    # extra="allow": extensions we do not know yet survive a relay or a DLQ replay intact.
    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=_new_id)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: datetime = Field(default_factory=_now)
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    data: dict[str, Any]
    correlationid: str | None = None
    traceparent: str | None = None

    @field_validator("id")
    @classmethod
    def _id_is_uuid(cls, value: str) -> str:
        # Consumers key their inbox on the id; a canonical UUID keeps that key compact.
        return str(UUID(value))

    @field_validator("time")
    @classmethod
    def _time_is_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time must carry a time zone")
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        """Serialise to the bytes that are stored in the outbox and sent on the wire."""
        return orjson.dumps(self.model_dump(exclude_none=True), option=orjson.OPT_UTC_Z)

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        """Parse and validate an envelope (pydantic's JSON parser, no intermediate dict)."""
        return cls.model_validate_json(raw)
