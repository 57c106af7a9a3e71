"""Settings of the identity service (environment prefix IDENTITY_)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from typing import ClassVar, Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings

# DESIGN.md caps access tokens at 15 minutes; verifiers rely on it to age out old keys.
MAX_ACCESS_TOKEN_TTL_S = 900

Notifier = Literal["provider", "console"]
SmtpSecurity = Literal["starttls", "tls", "none"]


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

    # --- one-time codes -------------------------------------------------------------------
    # Key of the HMAC that codes are stored under. When unset, one is derived from
    # IDENTITY_KEY_ENCRYPTION_SECRET; with neither, only the embedded mode starts.
    otp_secret: SecretStr | None = None
    otp_ttl_s: int = Field(default=300, ge=30, le=3_600)
    # Tries per challenge: the next one is refused even with the right code.
    otp_max_attempts: int = Field(default=5, ge=1, le=10)
    otp_resend_cooldown_s: int = Field(default=60, ge=0)
    # Codes sent to one phone number or e-mail address per window.
    otp_destination_limit: int = Field(default=5, ge=1)
    otp_destination_window_s: int = Field(default=3_600, ge=60)
    # Codes requested from one client address per window. Generous: Moroccan mobile
    # carriers put many subscribers behind one address (CGNAT).
    otp_address_limit: int = Field(default=60, ge=1)
    otp_address_window_s: int = Field(default=3_600, ge=60)
    # NIST SP 800-63B 5.2.2: consecutive failures per account and per contact, across
    # challenges (a new code does not reset them); past the limit one try per throttle
    # period. A count starts again when its last failure is older than the window.
    otp_failure_limit: int = Field(default=100, ge=1, le=100)
    otp_failure_window_s: int = Field(default=7 * 86_400, ge=3_600)
    otp_failure_throttle_s: int = Field(default=3_600, ge=1)
    # Peers (the gateway, a load balancer) whose X-Forwarded-For names the client. Empty:
    # the client is the TCP peer.
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)

    # --- delivery of codes and notifications ------------------------------------------------
    # "console" prints each message on one line (the embedded mode, the only one where the
    # code is ever written anywhere); "provider" sends through the SMS gateway and SMTP.
    notifier: Notifier = Field(
        default="provider",
        validation_alias=AliasChoices("MARFIQ_NOTIFIER", "IDENTITY_NOTIFIER"),
    )
    # HTTP SMS gateway: POST {"to": E.164, "text": …} with `Authorization: Bearer <token>`.
    sms_gateway_url: str | None = None
    sms_gateway_token: SecretStr | None = None
    sms_timeout_s: float = Field(default=5.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    smtp_security: SmtpSecurity = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # CA certificates (PEM) to verify the relay with, when it is not signed by a public CA.
    smtp_ca_file: str | None = None
    smtp_sender: str = "Marfiq <no-reply@marfiq.ma>"
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    # Tries per message (1 = no retry) and the first back-off, doubled at each retry.
    delivery_attempts: int = Field(default=3, ge=1, le=10)
    delivery_backoff_s: float = Field(default=0.5, ge=0)
    # Messages being sent at once by one replica; more wait their turn.
    delivery_concurrency: int = Field(default=100, ge=1)
    # How often queued notifications are looked for, and housekeeping runs.
    notification_poll_s: float = Field(default=1.0, gt=0)

    # --- eID (NFC identity card) ------------------------------------------------------------
    # The CSCA certificates whose Document Signers are trusted: a folder of .pem/.crt/.cer/
    # .der files, and/or PEM text. Without either, every card is refused as untrusted.
    eid_trust_list_dir: str | None = None
    eid_csca_pem: str | None = None
    eid_challenge_ttl_s: int = Field(default=180, ge=30, le=900)

    # --- partner clients ------------------------------------------------------------------
    # After a rotation the previous secret still works this long, so partners can roll over.
    client_secret_overlap_s: int = Field(default=86_400, ge=0)
