"""Settings of the correspondence service (environment prefix CORRESPONDENCE_)."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from marfiq_shared.settings import MarfiqSettings


class CorrespondenceSettings(MarfiqSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="CORRESPONDENCE_")

    service_name: ClassVar[str] = "correspondence-service"
    db_schema: ClassVar[str] = "correspondence"
