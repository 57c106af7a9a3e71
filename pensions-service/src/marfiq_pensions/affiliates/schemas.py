"""Shapes of the affiliate's own file on the wire."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from marfiq_pensions.affiliates.models import AffiliateStatus
from marfiq_pensions.regimes import RegimeCode


class PostalAddress(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    postal_code: str = Field(pattern=r"^[0-9]{5}$", description="Moroccan postal code")
    city: str = Field(min_length=1, max_length=100)


class AffiliateRead(BaseModel):
    """The affiliation summary: who the fund holds the file of, and what it holds."""

    affiliation_number: str
    cin: str
    last_name: str | None
    first_name: str | None
    birth_date: date | None
    regime: RegimeCode
    status: AffiliateStatus
    phone: str | None = Field(description="The phone the fund holds (E.164)")
    postal_address: PostalAddress | None
    pension_start: date | None
    monthly_pension: Decimal | None
    version: int


class AffiliateUpdate(BaseModel):
    """What the affiliate may change in their file; other data changes at the fund's desk."""

    model_config = ConfigDict(extra="forbid")

    postal_address: PostalAddress | None = None
    phone: str | None = Field(
        default=None,
        max_length=32,
        description="A mobile number; needs a sign-in of assurance `substantial` or more",
    )

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give postal_address and/or phone")
        return self
