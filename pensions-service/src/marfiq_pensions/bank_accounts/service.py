"""Bank account changes: asked for with strong proof, announced everywhere, applied by the
next payment run, cancellable until then, every step kept in the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates import repository as affiliates
from marfiq_pensions.affiliates.models import Affiliate
from marfiq_pensions.bank import parse_iban, parse_rib
from marfiq_pensions.bank_accounts import events, repository
from marfiq_pensions.bank_accounts.errors import ChangeNotFound, ChangeNotPending, SameAccount
from marfiq_pensions.bank_accounts.models import (
    AuditAction,
    BankAccountAudit,
    BankAccountChange,
    ChangeStatus,
)
from marfiq_pensions.bank_accounts.schemas import BankAccountChange as ChangeRequest
from marfiq_pensions.bank_accounts.schemas import BankAccountRead, ChangeRead, masked_account
from marfiq_pensions.dependencies import local_day, month_of
from marfiq_pensions.payments import repository as payments
from marfiq_pensions.regimes.career import month_index, month_start
from marfiq_shared.auth import Acr, Principal
from marfiq_shared.logs import request_id_var
from marfiq_shared.problems import StepUpRequired

REQUIRED_ACR: Acr = "substantial"


def view(change: BankAccountChange) -> ChangeRead:
    return ChangeRead(
        id=change.id,
        status=ChangeStatus(change.status),
        account=masked_account(change.rib),
        effective_month=f"{change.effective_month:%Y-%m}",
        requested_at=change.requested_at,
        in_force_at=change.in_force_at,
        ended_at=change.ended_at,
    )


async def next_payment_month(session: AsyncSession, *, now: datetime) -> date:
    """The month of the next payment run: this month's, unless it already ran."""
    month = month_of(local_day(now))
    if await payments.run_of(session, month) is not None:
        month = month_start(month_index(month) + 1)
    return month


def _audit(
    change: BankAccountChange,
    action: AuditAction,
    *,
    principal: Principal | None,
    now: datetime,
) -> BankAccountAudit:
    return BankAccountAudit(
        affiliate_id=change.affiliate_id,
        change_id=change.id,
        action=action.value,
        at=now,
        actor=principal.sub if principal else "payment-run",
        session_id=principal.sid if principal else None,
        acr=principal.acr if principal else None,
        request_id=request_id_var.get(),
    )


async def read(session: AsyncSession, *, affiliate: Affiliate) -> BankAccountRead:
    """The account in force, the change waiting for the next run, and earlier changes."""
    changes = await repository.of_affiliate(session, affiliate.id)
    in_force = next((c for c in changes if c.status == ChangeStatus.IN_FORCE), None)
    pending = next((c for c in changes if c.status == ChangeStatus.PENDING), None)
    if in_force is None:
        in_force = await repository.in_state(session, affiliate.id, ChangeStatus.IN_FORCE)
    return BankAccountRead(
        in_force=view(in_force) if in_force else None,
        pending=view(pending) if pending else None,
        history=[view(c) for c in changes if c is not in_force and c is not pending],
    )


async def request_change(
    session: AsyncSession,
    *,
    holder: Principal,
    affiliate: Affiliate,
    data: ChangeRequest,
    now: datetime,
) -> ChangeRead:
    """Ask to be paid into another account from the next payment run."""
    if not holder.has_acr(REQUIRED_ACR):
        raise StepUpRequired(REQUIRED_ACR, "changing the account your pension is paid into")
    rib = str(parse_rib(data.rib) if data.rib is not None else parse_iban(data.iban or ""))
    # One change at a time per person: concurrent requests queue on the affiliate's row.
    await affiliates.by_cin_for_update(session, affiliate.cin)
    pending = await repository.in_state(session, affiliate.id, ChangeStatus.PENDING)
    if pending is not None and pending.rib == rib:
        return view(pending)  # the same request again
    in_force = await repository.in_state(session, affiliate.id, ChangeStatus.IN_FORCE)
    if in_force is not None and in_force.rib == rib:
        raise SameAccount("cancel the pending change instead" if pending else None)
    entries = []
    if pending is not None:
        pending.status, pending.ended_at = ChangeStatus.SUPERSEDED.value, now
        entries.append(_audit(pending, AuditAction.SUPERSEDED, principal=holder, now=now))
        await session.flush()  # the partial unique index allows one pending change
    change = BankAccountChange(
        id=uuid.uuid4(),
        affiliate_id=affiliate.id,
        rib=rib,
        status=ChangeStatus.PENDING.value,
        requested_at=now,
        requested_by=holder.sub,
        session_id=holder.sid,
        acr=holder.acr,
        effective_month=await next_payment_month(session, now=now),
    )
    repository.add(session, change)
    await session.flush()
    entries.append(_audit(change, AuditAction.REQUESTED, principal=holder, now=now))
    repository.audit(session, entries)
    await events.requested(session, affiliate, change, now=now)
    await session.flush()
    return view(change)


async def cancel_change(
    session: AsyncSession,
    *,
    holder: Principal,
    affiliate: Affiliate,
    change_id: uuid.UUID,
    now: datetime,
) -> ChangeRead:
    """Withdraw a change that has not taken effect yet."""
    change = await repository.get_for_update(session, change_id)
    if change is None or change.affiliate_id != affiliate.id:
        raise ChangeNotFound()
    if change.status != ChangeStatus.PENDING:
        raise ChangeNotPending(f"the change is {change.status}")
    change.status, change.ended_at = ChangeStatus.CANCELLED.value, now
    repository.audit(session, [_audit(change, AuditAction.CANCELLED, principal=holder, now=now)])
    await events.cancelled(session, affiliate, change, session_id=holder.sid, now=now)
    await session.flush()
    return view(change)


async def cancel_pending(
    session: AsyncSession, *, holder: Principal, affiliate: Affiliate, now: datetime
) -> ChangeRead:
    """Withdraw the change waiting for the next payment run."""
    pending = await repository.in_state(session, affiliate.id, ChangeStatus.PENDING)
    if pending is None:
        raise ChangeNotFound("no change is waiting for the next payment run")
    return await cancel_change(
        session, holder=holder, affiliate=affiliate, change_id=pending.id, now=now
    )
