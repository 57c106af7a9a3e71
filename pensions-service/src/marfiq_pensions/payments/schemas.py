"""Shapes of payments on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from marfiq_pensions.bank_accounts.schemas import AccountRead
from marfiq_pensions.payments.models import PaymentStatus


class PaymentRead(BaseModel):
    id: uuid.UUID
    month: str = Field(description="YYYY-MM")
    amount: Decimal
    status: PaymentStatus
    account: AccountRead | None = Field(description="Where it was paid (masked)")
    recorded_at: datetime


class PaymentPage(BaseModel):
    items: list[PaymentRead]
    next_cursor: str | None = None


class PaymentRunCreate(BaseModel):
    month: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM")


class PaymentRunRead(BaseModel):
    month: str
    ran_now: bool = Field(description="False when the month had already been paid")
    payments: int
    total: Decimal
    accounts_changed: int = Field(description="Bank account changes this run put in force")
    completed_at: datetime
