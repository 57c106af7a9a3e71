"""Shapes of bank accounts on the wire: the account is shown masked, never whole."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from marfiq_pensions.bank_accounts.models import ChangeStatus


class BankAccountChange(BaseModel):
    """A Moroccan account: the 24-digit RIB, or the MA IBAN that wraps it (one of the two)."""

    model_config = ConfigDict(extra="forbid")

    rib: str | None = Field(default=None, max_length=40, examples=["011780000012345678901234"])
    iban: str | None = Field(default=None, max_length=50, examples=["MA64011780000012345678901234"])

    @model_validator(mode="after")
    def _one_of_them(self) -> Self:
        if (self.rib is None) == (self.iban is None):
            raise ValueError("give either rib or iban")
        return self


class AccountRead(BaseModel):
    bank_code: str = Field(description="The RIB's first 3 digits (the bank)")
    last4: str
    masked: str = Field(examples=["011 780 •••• •••• •••• 1234"])


def masked_account(rib: str) -> AccountRead:
    """An account as it is shown: its bank and its last four digits."""
    return AccountRead(
        bank_code=rib[:3],
        last4=rib[-4:],
        masked=f"{rib[:3]} {rib[3:6]} •••• •••• •••• {rib[-4:]}",
    )


class ChangeRead(BaseModel):
    id: uuid.UUID
    status: ChangeStatus
    account: AccountRead
    effective_month: str = Field(description="The first payment month it applies to (YYYY-MM)")
    requested_at: datetime
    in_force_at: datetime | None
    ended_at: datetime | None


class BankAccountRead(BaseModel):
    in_force: ChangeRead | None = Field(description="The account pensions are paid into")
    pending: ChangeRead | None = Field(description="A change waiting for the next payment run")
    history: list[ChangeRead] = Field(description="Earlier changes, newest first")
