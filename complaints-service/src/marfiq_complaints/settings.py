"""Settings of the complaints service (environment prefix COMPLAINTS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings


class ComplaintsSettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="COMPLAINTS_")

    service_name: ClassVar[str] = "complaints-service"
    db_schema: ClassVar[str] = "complaints"
