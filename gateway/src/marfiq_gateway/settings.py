"""Gateway configuration: where each service answers, timeouts and limits (env `GATEWAY_*`)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings


class GatewaySettings(MarfiqSettings):
    """Settings of the gateway process; platform-wide names (`MARFIQ_JWKS_URL` …) apply too."""

    model_config = SettingsConfigDict(extra="ignore", env_prefix="GATEWAY_")

    service_name: ClassVar[str] = "gateway"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    # Distributed mode: base URL of each service (no trailing path; paths are never rewritten).
    identity_url: str = "http://127.0.0.1:8001"
    correspondence_url: str = "http://127.0.0.1:8002"
    complaints_url: str = "http://127.0.0.1:8003"
    pensions_url: str = "http://127.0.0.1:8004"

    connect_timeout_s: float = Field(default=2.0, gt=0)
    # Longest silence accepted from a service: before its answer starts, and between chunks.
    read_timeout_s: float = Field(default=30.0, gt=0)
    # Outer bound for every route (file uploads included); each service applies its own,
    # usually tighter, limit again.
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    upstream_connections: int = Field(default=256, ge=1)
    # Below uvicorn's default keep-alive (5 s) so that we never reuse a connection the
    # service is closing.
    upstream_keepalive_s: float = Field(default=4.0, gt=0)

    # Only behind a trusted load balancer: keep the X-Forwarded-For/-Proto it sent.
    trust_forwarded_headers: bool = False

    jwks_max_age_s: float = Field(default=300.0, gt=0)
    jwks_min_refetch_s: float = Field(default=5.0, ge=0)

    openapi_cache_s: float = Field(default=300.0, ge=0)
    # Base name of the queue receiving session revocations; every replica adds its own
    # suffix because each one must see every revocation.
    revocation_queue: str = "gateway.revocations"

    # Rate limits: requests per window per client address (before the token is checked)
    # and per authenticated client (token `sub`); 0 turns a limit off. The address limit is
    # the looser one: many mobile users share one carrier NAT address.
    rate_limit_per_address: int = Field(default=3000, ge=0)
    rate_limit_per_client: int = Field(default=600, ge=0)
    rate_limit_window_s: int = Field(default=60, ge=1)
    # Shared counters for every replica (redis://host:6379/0); unset: each replica counts
    # on its own. Unreachable: requests pass unlimited (fail open) and an error is logged.
    redis_url: str | None = None
    redis_timeout_s: float = Field(default=0.2, gt=0)

    # Circuit breaker per service: after this many consecutive connect errors or timeouts
    # the gateway answers 503 at once, then lets one probe through after the cool-down.
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_cooldown_s: float = Field(default=10.0, gt=0)

    # Web origins allowed to call the API from a browser, comma-separated
    # (https://portail.example.ma,https://agents.example.ma); empty: no CORS headers.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Clients reach the gateway over HTTPS (directly or through the load balancer): send
    # Strict-Transport-Security. Off for plain-HTTP development.
    behind_tls: bool = False

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value
