"""Settings of the pensions service (environment prefix PENSIONS_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings


class PensionsSettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="PENSIONS_")

    service_name: ClassVar[str] = "pensions-service"
    db_schema: ClassVar[str] = "pensions"
