"""The monthly payment run: bank account changes due take effect, each retired affiliate's
pension is recorded once for the month, to the account in force.

Safe with several replicas: a run holds a transaction-scoped advisory lock on its month,
a second run of the month waits for it and then finds the month done; and a payment is
unique per affiliate and month whatever happens.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates.models import Affiliate
from marfiq_pensions.bank_accounts.schemas import masked_account
from marfiq_pensions.careers.service import counted_career
from marfiq_pensions.events import add_events
from marfiq_pensions.payments import repository
from marfiq_pensions.payments.models import Payment, PaymentRun, PaymentStatus
from marfiq_pensions.payments.schemas import PaymentPage, PaymentRead, PaymentRunRead
from marfiq_pensions.regimes import RegimeCatalogue, pension
from marfiq_shared.db import session_driver
from marfiq_shared.events.catalogue import BankAccountChanged, EventData, PaymentRecorded
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor
from marfiq_shared.problems import Problem

log = logging.getLogger("marfiq.pensions.payments")
ZERO = Decimal(0)


async def run_month(
    session: AsyncSession, *, month: date, catalogue: RegimeCatalogue, now: datetime
) -> PaymentRunRead:
    """Pay `month` (its first day) unless it was paid already."""
    connection = await session_driver(session)
    await repository.lock_month(connection, month)
    done = await repository.run_of(session, month)
    if done is not None:
        return PaymentRunRead(
            month=f"{month:%Y-%m}",
            ran_now=False,
            payments=done.payments,
            total=done.total,
            accounts_changed=0,
            completed_at=done.completed_at,
        )
    await repository.end_replaced_accounts(connection, month=month, started=now)
    changes = await repository.put_due_changes_in_force(connection, month=month, started=now)
    await repository.audit_in_force(connection, changes, at=now)
    await _liquidate(session, connection, month=month, catalogue=catalogue)
    paid = await repository.record_payments(connection, month=month, now=now)
    total = sum((row["amount"] for row in paid), ZERO)
    repository.add_run(
        session,
        PaymentRun(month=month, started_at=now, completed_at=now, payments=len(paid), total=total),
    )
    events: list[tuple[EventData, str | None]] = [
        (
            BankAccountChanged(
                change_id=change["id"],
                affiliation_number=change["affiliation_number"],
                cin=change["cin"],
                bank_code=change["rib"][:3],
                account_last4=change["rib"][-4:],
                effective_month=change["effective_month"],
                occurred_at=now,
            ),
            change["affiliation_number"],
        )
        for change in changes
    ]
    events += [
        (
            PaymentRecorded(
                payment_id=row["id"],
                affiliation_number=row["affiliation_number"],
                cin=row["cin"],
                month=month,
                amount=row["amount"],
                status=row["status"],
                account_last4=row["rib"][-4:] if row["rib"] else None,
                recorded_at=now,
            ),
            row["affiliation_number"],
        )
        for row in paid
    ]
    await add_events(session, events)
    await session.flush()
    log.info(
        "payment run", extra={"month": f"{month:%Y-%m}", "payments": len(paid), "total": str(total)}
    )
    return PaymentRunRead(
        month=f"{month:%Y-%m}",
        ran_now=True,
        payments=len(paid),
        total=total,
        accounts_changed=len(changes),
        completed_at=now,
    )


async def _liquidate(
    session: AsyncSession, connection: object, *, month: date, catalogue: RegimeCatalogue
) -> None:
    """Compute the pension of retired affiliates paid for the first time, from their career."""
    for row in await repository.unliquidated(connection, month=month):
        affiliate = await session.get(Affiliate, row["id"])
        assert affiliate is not None
        try:
            career = await counted_career(session, affiliate=affiliate)
            breakdown = pension(career, catalogue=catalogue, retirement_date=row["pension_start"])
        except Problem as refused:  # a career the rules cannot count: left to an agent
            log.warning("pension not liquidated for %s: %s", row["id"], refused)
            continue
        await repository.set_pension(connection, row["id"], breakdown.amount)


async def payments_of(
    session: AsyncSession, *, affiliate: Affiliate, cursor: str | None, limit: int
) -> PaymentPage:
    """The affiliate's payments, newest month first."""
    position = decode_cursor(cursor)
    before = None
    if position is not None:
        try:
            before = date.fromisoformat(position["month"])
        except (KeyError, TypeError, ValueError):
            raise InvalidCursor() from None
    found = await repository.of_affiliate(session, affiliate.id, before=before, limit=limit + 1)
    items = [_view(payment) for payment in found]
    next_cursor = None
    if len(found) > limit:
        items = items[:limit]
        next_cursor = encode_cursor({"month": found[limit - 1].month.isoformat()})
    return PaymentPage(items=items, next_cursor=next_cursor)


def _view(payment: Payment) -> PaymentRead:
    return PaymentRead(
        id=payment.id,
        month=f"{payment.month:%Y-%m}",
        amount=payment.amount,
        status=PaymentStatus(payment.status),
        account=masked_account(payment.rib) if payment.rib else None,
        recorded_at=payment.recorded_at,
    )
