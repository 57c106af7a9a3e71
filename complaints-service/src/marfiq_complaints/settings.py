"""Settings of the complaints service (environment prefix COMPLAINTS_)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings

MIB = 1024 * 1024
# Room for the multipart framing and the form fields around an attachment.
MULTIPART_OVERHEAD = 64 * 1024


class ComplaintsSettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="COMPLAINTS_")

    service_name: ClassVar[str] = "complaints-service"
    db_schema: ClassVar[str] = "complaints"

    # Operator data, read at start: movable holidays of new years or corrected Eid dates,
    # and deadline rules per kind (formats: deadlines/data/*.toml). A later file wins.
    holiday_files: list[Path] = Field(default_factory=list)
    rule_files: list[Path] = Field(default_factory=list)

    # Attachments: where they are kept (a folder, a file: URL, or
    # s3://bucket/prefix?endpoint=…&region=… with the usual AWS_* credentials), how large one
    # may be and how many a complaint holds. The request body limit must leave room for one.
    storage_url: str = "var/complaints/attachments"
    attachment_max_bytes: int = Field(default=10 * MIB, ge=1024)
    attachments_per_complaint: int = Field(default=10, ge=1, le=100)
    max_body_bytes: int = Field(default=10 * MIB + MULTIPART_OVERHEAD, ge=1024)

    # The deadline scheduler, run in every replica (its jobs are safe to run concurrently).
    scheduler_enabled: bool = True
    scheduler_interval_s: float = Field(default=60.0, gt=0)
    scheduler_batch: int = Field(default=500, ge=1, le=10_000)
    # The assigned agent is reminded this long before the answer falls due.
    reminder_lead_s: int = Field(default=3 * 86_400, ge=0)
    # An overdue complaint still overdue this long later goes to the supervisors.
    escalation_delay_s: int = Field(default=2 * 86_400, ge=0)

    # Public statistics: a page is computed at most once this long per process, and browsers
    # and proxies may keep it as long (0: computed for every request).
    stats_cache_s: int = Field(default=60, ge=0)

    @model_validator(mode="after")
    def _body_holds_an_attachment(self) -> Self:
        if self.max_body_bytes < self.attachment_max_bytes + MULTIPART_OVERHEAD:
            raise ValueError(
                "COMPLAINTS_MAX_BODY_BYTES must exceed COMPLAINTS_ATTACHMENT_MAX_BYTES by "
                f"{MULTIPART_OVERHEAD} bytes, or no attachment of the allowed size gets in"
            )
        return self
