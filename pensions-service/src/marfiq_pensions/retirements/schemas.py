"""Shapes of a recorded retirement on the wire."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class RetirementCreate(BaseModel):
    """The fund records that an affiliate's pension starts (after their application)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    cin: str = Field(min_length=1, max_length=16, description="The affiliate's CIN")
    pension_start: date = Field(description="First day of the first month paid")
