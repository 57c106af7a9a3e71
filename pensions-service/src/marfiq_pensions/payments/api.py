"""Routes of payments: the citizen's own, and the operator's manual run of a month."""

from __future__ import annotations

from fastapi import APIRouter, Request

from marfiq_pensions.affiliates.access import MyFile
from marfiq_pensions.declarations.rows import parse_month
from marfiq_pensions.dependencies import Now, local_day, month_of
from marfiq_pensions.payments import service
from marfiq_pensions.payments.runner import PaymentScheduler
from marfiq_pensions.payments.schemas import PaymentPage, PaymentRunCreate, PaymentRunRead
from marfiq_shared.auth import PlatformAdmin
from marfiq_shared.db import Session
from marfiq_shared.pagination import Cursor, Limit
from marfiq_shared.problems import ValidationFailed

router = APIRouter(tags=["payments"])


@router.get("/v1/pensions/me/payments", response_model=PaymentPage)
async def my_payments(
    holder: MyFile, session: Session, limit: Limit = 50, cursor: Cursor = None
) -> PaymentPage:
    """The caller's pension payments, newest month first, with the account paid (masked)."""
    return await service.payments_of(
        session, affiliate=holder.affiliate, cursor=cursor, limit=limit
    )


@router.post("/v1/pensions/payment-runs", response_model=PaymentRunRead)
async def run_payments(
    data: PaymentRunCreate, admin: PlatformAdmin, request: Request, now: Now
) -> PaymentRunRead:
    """Run a month's payments now (operators; the service runs it by itself from the
    payment day). A month already paid is not paid again."""
    month = parse_month(data.month)
    if month is None or month > month_of(local_day(now)):
        raise ValidationFailed(
            "the month must be a past or the current month",
            errors=[{"field": "month", "in": "body", "message": "not a month that has begun"}],
        )
    scheduler: PaymentScheduler = request.app.state.payment_scheduler
    return await scheduler.run(month)
