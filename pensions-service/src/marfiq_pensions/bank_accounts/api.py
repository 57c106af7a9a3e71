"""Routes of the account pensions are paid into: read it, change it, cancel a change."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from marfiq_pensions.affiliates.access import MyFile
from marfiq_pensions.bank_accounts import service
from marfiq_pensions.bank_accounts.schemas import BankAccountChange, BankAccountRead, ChangeRead
from marfiq_pensions.dependencies import Now
from marfiq_shared.db import Session

router = APIRouter(prefix="/v1/pensions/me/bank-account", tags=["bank account"])


@router.get("", response_model=BankAccountRead)
async def my_bank_account(holder: MyFile, session: Session) -> BankAccountRead:
    """The account in force (masked), a change waiting for the next payment run, history."""
    return await service.read(session, affiliate=holder.affiliate)


@router.put("", status_code=status.HTTP_202_ACCEPTED, response_model=ChangeRead)
async def change_my_bank_account(
    data: BankAccountChange, holder: MyFile, session: Session, now: Now
) -> ChangeRead:
    """Be paid into another account from the next payment run (202: not in force yet).

    Needs a sign-in of assurance `substantial` or more (else 403 `step-up-required`). The
    person is told on every channel at once and may cancel until the run.
    """
    return await service.request_change(
        session, holder=holder.principal, affiliate=holder.affiliate, data=data, now=now
    )


@router.post("/changes/{change_id}/cancel", response_model=ChangeRead)
async def cancel_my_bank_account_change(
    change_id: uuid.UUID, holder: MyFile, session: Session, now: Now
) -> ChangeRead:
    """Withdraw a change before the payment run applies it."""
    return await service.cancel_change(
        session, holder=holder.principal, affiliate=holder.affiliate, change_id=change_id, now=now
    )


@router.delete("/pending", response_model=ChangeRead)
async def cancel_my_pending_change(holder: MyFile, session: Session, now: Now) -> ChangeRead:
    """Withdraw the change waiting for the next payment run, whichever it is."""
    return await service.cancel_pending(
        session, holder=holder.principal, affiliate=holder.affiliate, now=now
    )
