"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Literal

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

Language = Literal["ar", "fr", "en"]

# Names an operator sets once for the whole platform. A service-prefixed variable
# (COMPLAINTS_DATABASE_URL) still wins, so one service can be pointed at its own cluster.
SHARED_NAMES = (
    "database_url",
    "amqp_url",
    "marfiq_issuer",
    "marfiq_audience",
    "marfiq_jwks_url",
    "log_level",
    "log_json",
    "default_language",
    "event_exchange",
    "event_queue_prefix",
)


class _SharedEnvSource(PydanticBaseSettingsSource):
    """Reads the platform-wide names without the service prefix."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return os.environ.get(field_name.upper()), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {
            name: os.environ[name.upper()]
            for name in SHARED_NAMES
            if name in self.settings_cls.model_fields and name.upper() in os.environ
        }


class MarfiqSettings(BaseSettings):
    """Base of every service's settings; see the README table for each variable."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="MARFIQ_")

    service_name: ClassVar[str] = "marfiq"
    db_schema: ClassVar[str] = "public"

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/marfiq",
        description="Postgres of the platform; each service works in its own schema.",
    )
    database_pool_size: int = Field(default=10, description="Connections per process.")
    database_pool_pre_ping: bool = Field(
        default=False,
        description="Test each pooled connection before a transaction (with asyncpg three "
        "more round trips each: BEGIN, ping, ROLLBACK). Off: a connection broken by a "
        "database restart fails the one request using it (503) and the pool is renewed.",
    )
    amqp_url: str | None = Field(
        default=None,
        description="RabbitMQ URL (distributed mode); unset selects the in-process transport.",
    )
    marfiq_issuer: str = Field(
        default="http://127.0.0.1:8000", description="`iss` of access tokens."
    )
    marfiq_audience: str = Field(default="marfiq", description="`aud` of access tokens.")
    marfiq_jwks_url: str = Field(
        default="http://127.0.0.1:8001/.well-known/jwks.json",
        description="Where the gateway and services fetch identity's signing keys.",
    )
    log_level: str = Field(default="INFO", description="Log level.")
    log_json: bool = Field(default=True, description="One JSON object a line.")
    default_language: Language = Field(
        default="fr",
        description="Language of messages when `Accept-Language` names none of ar, fr, en.",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Request body limit.")

    event_exchange: str = Field(
        default="marfiq.events", description="The topic exchange every event goes through."
    )
    event_queue_prefix: str = Field(
        default="",
        description="Prefix of each service's queue, so that several platforms (or test "
        "runs) share one broker without sharing queues.",
    )
    event_retry_delays_ms: list[int] = Field(
        default_factory=lambda: [1_000, 5_000, 30_000],
        description="Back-off between a failing handler's retries; then the dead-letter queue.",
    )
    event_relay_batch: int = Field(
        default=500, ge=1, le=5_000, description="Outbox rows published per batch."
    )
    event_relay_idle_ms: int = Field(
        default=200, ge=5, description="Outbox poll interval when no commit woke the relay."
    )
    event_prefetch: int = Field(
        default=200, ge=1, description="Unacknowledged deliveries per consumer."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SharedEnvSource(settings_cls), file_secret_settings)
