"""Settings of the identity service (environment prefix IDENTITY_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings

# DESIGN.md caps access tokens at 15 minutes; verifiers rely on it to age out old keys.
MAX_ACCESS_TOKEN_TTL_S = 900


class IdentitySettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="IDENTITY_", populate_by_name=True)

    service_name: ClassVar[str] = "identity-service"
    db_schema: ClassVar[str] = "identity"

    # Signing keys. Generated keys are stored encrypted with a key derived from this secret;
    # a PEM given here instead is used as is and never written to the database.
    key_encryption_secret: SecretStr | None = None
    signing_key_pem: SecretStr | None = None
    # A generated key signs for this long, then the next one takes over.
    signing_key_lifetime_s: int = Field(default=30 * 86_400, ge=3_600)
    # A new key is published this long before it signs, so every JWKS cache has seen it.
    signing_key_publish_ahead_s: int = Field(default=3_600, ge=0)
    # How often a replica reloads the key set and rotates when due.
    signing_key_check_interval_s: float = Field(default=60.0, gt=0)

    access_token_ttl_s: int = Field(default=600, ge=30, le=MAX_ACCESS_TOKEN_TTL_S)
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=300)

    # The first platform administrator; shared, unprefixed name (set once per platform).
    bootstrap_admin_email: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "MARFIQ_BOOTSTRAP_ADMIN_EMAIL", "IDENTITY_BOOTSTRAP_ADMIN_EMAIL"
        ),
    )
