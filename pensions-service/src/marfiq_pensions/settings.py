"""Settings of the pensions service (environment prefix PENSIONS_)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings

MIB = 1024 * 1024


class PensionsSettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="PENSIONS_")

    service_name: ClassVar[str] = "pensions-service"
    db_schema: ClassVar[str] = "pensions"

    # Declarations are uploaded whole (JSON or CSV): the body limit is their size limit.
    max_body_bytes: int = Field(default=32 * MIB, ge=1024)
    declaration_max_rows: int = Field(default=200_000, ge=1)
    # Rows processed per transaction: a crash redoes at most one chunk per worker. Each chunk
    # costs a claim, a dozen round trips and a commit; 5,000 rows a chunk took a third less
    # CPU per row than 2,000 for new employees (Python and Postgres alike), and still makes
    # ten chunks of a 50,000-row declaration for the workers to share.
    declaration_chunk_rows: int = Field(default=5_000, ge=1, le=50_000)
    # The declaration worker runs in every replica (chunks are claimed with SKIP LOCKED).
    declaration_worker_enabled: bool = True
    # Chunks each replica processes at once (each on its own database connection).
    declaration_concurrency: int = Field(default=2, ge=1, le=16)
    # How often an idle worker looks for work (a submission wakes it at once in-process).
    declaration_poll_s: float = Field(default=2.0, gt=0)
    # Months back a declaration may still be filed or corrected.
    declaration_max_age_months: int = Field(default=60, ge=1)

    # The monthly payment run, started by every replica (a month is paid once).
    payment_run_enabled: bool = True
    # Day of the month (Africa/Casablanca) from which the month's run goes.
    payment_day: int = Field(default=25, ge=1, le=28)
    payment_check_interval_s: float = Field(default=300.0, gt=0)

    # Certificates are signed with a key the platform's certificate authority issues; the
    # authority lives in this folder, shared with correspondence-service, whose document
    # registry checks the signatures (see marfiq_shared.documents.pki).
    pki_dir: Path = Path("var/pki")
    pki_extra_trust_roots: list[Path] = Field(default_factory=list)
    # Printed in every certificate's QR code: `<public_base_url>/v1/documents/<code>`.
    public_base_url: str = "http://127.0.0.1:8000"
    # The fund, as certificates name it (and as the directory knows it, when it does).
    fund_name_fr: str = "Caisse marocaine des retraites"
    fund_name_ar: str = "الصندوق المغربي للتقاعد"
    fund_administration_id: uuid.UUID | None = None
