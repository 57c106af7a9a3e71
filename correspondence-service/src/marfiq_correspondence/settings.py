"""Settings of the correspondence service (environment prefix CORRESPONDENCE_)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings

MIB = 1024 * 1024
# Room for the multipart framing around a file.
MULTIPART_OVERHEAD = 64 * 1024


class CorrespondenceSettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="CORRESPONDENCE_")

    service_name: ClassVar[str] = "correspondence-service"
    db_schema: ClassVar[str] = "correspondence"

    # Files: where they are kept (a folder, a file: URL, or
    # s3://bucket/prefix?endpoint=…&region=… with the usual AWS_* credentials), how large
    # one may be, how many a letter carries. The request body limit must leave room for one.
    storage_url: str = "var/correspondence/files"
    file_max_bytes: int = Field(default=20 * MIB, ge=1024)
    files_per_correspondence: int = Field(default=20, ge=1, le=100)
    max_body_bytes: int = Field(default=20 * MIB + MULTIPART_OVERHEAD, ge=1024)
    # Uploaded files never attached to a letter are deleted after this long.
    unattached_file_ttl_s: int = Field(default=24 * 3600, ge=60)
    janitor_interval_s: float = Field(default=3600.0, gt=0)

    # Signed documents: the platform's certificate authority and signing keys live in this
    # folder (created at first start; see marfiq_shared.documents.pki), and a signature
    # is trusted when it chains to its root or to one of the extra roots listed.
    pki_dir: Path = Path("var/pki")
    pki_extra_trust_roots: list[Path] = Field(default_factory=list)
    # Printed in every document's QR code: `<public_base_url>/v1/documents/<code>`.
    public_base_url: str = "http://127.0.0.1:8000"
    # The signer of receipts (the platform's registry office).
    platform_signer_fr: str = "Marfiq - Bureau d'ordre numérique"
    platform_signer_ar: str = "مرفق - مكتب الضبط الرقمي"
    # A copy uploaded to `POST /v1/documents/{code}/verification` may be this large.
    verification_max_bytes: int = Field(default=20 * MIB, ge=1024)

    # Partner webhooks: how often the dispatcher looks for due deliveries, the pause after
    # each failed attempt (the last one ends the retries), the time a partner has to
    # answer, and how many are sent at once.
    webhooks_enabled: bool = True
    webhook_poll_s: float = Field(default=1.0, gt=0)
    webhook_retry_delays_s: list[float] = Field(
        default_factory=lambda: [10.0, 60.0, 300.0, 1800.0, 7200.0, 21600.0, 86400.0]
    )
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_batch: int = Field(default=50, ge=1, le=1000)
    # Accept http:// URLs and private or loopback addresses (development and tests only).
    webhook_allow_insecure: bool = False

    @model_validator(mode="after")
    def _body_holds_a_file(self) -> Self:
        if self.max_body_bytes < self.file_max_bytes + MULTIPART_OVERHEAD:
            raise ValueError(
                "CORRESPONDENCE_MAX_BODY_BYTES must exceed CORRESPONDENCE_FILE_MAX_BYTES by "
                f"{MULTIPART_OVERHEAD} bytes, or no file of the allowed size gets in"
            )
        return self
