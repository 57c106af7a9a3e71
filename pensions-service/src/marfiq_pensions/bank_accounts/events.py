"""The events a bank account change publishes, and the notice the person gets everywhere.

Bank account changes are where fraud strikes first: the person is told on every channel
identity knows for them, at once, while the change can still be cancelled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates.models import Affiliate
from marfiq_pensions.bank_accounts.models import BankAccountChange
from marfiq_shared.events.catalogue import (
    BankAccountChangeCancelled,
    BankAccountChanged,
    BankAccountChangeRequested,
    EventData,
    NotificationRequested,
)
from marfiq_shared.events.outbox import add_event

# Message kinds identity's notifier knows (an unknown kind gets its generic notice).
CHANGED_NOTICE = "pensions.bank_account_changed"
CANCELLED_NOTICE = "pensions.bank_account_change_cancelled"


def _common(affiliate: Affiliate, change: BankAccountChange, now: datetime) -> dict[str, object]:
    return {
        "change_id": change.id,
        "affiliation_number": affiliate.affiliation_number,
        "cin": affiliate.cin,
        "bank_code": change.rib[:3],
        "account_last4": change.rib[-4:],
        "effective_month": change.effective_month,
        "occurred_at": now,
    }


async def _publish(
    session: AsyncSession,
    event: EventData,
    affiliate: Affiliate,
    change: BankAccountChange,
    *,
    notice: str | None,
) -> None:
    await add_event(session, event, subject=affiliate.affiliation_number)
    if notice is not None:
        await add_event(
            session,
            NotificationRequested(
                recipient_cin=affiliate.cin,
                kind=notice,
                params={
                    "bank_code": change.rib[:3],
                    "account_last4": change.rib[-4:],
                    "effective_month": f"{change.effective_month:%Y-%m}",
                },
            ),
            subject=affiliate.affiliation_number,
        )


async def requested(
    session: AsyncSession,
    affiliate: Affiliate,
    change: BankAccountChange,
    *,
    now: datetime,
) -> None:
    data = BankAccountChangeRequested(
        **_common(affiliate, change, now),  # type: ignore[arg-type]
        session_id=change.session_id,
        acr=change.acr,
    )
    await _publish(session, data, affiliate, change, notice=CHANGED_NOTICE)


async def cancelled(
    session: AsyncSession,
    affiliate: Affiliate,
    change: BankAccountChange,
    *,
    session_id: str | None,
    now: datetime,
) -> None:
    data = BankAccountChangeCancelled(
        **_common(affiliate, change, now),  # type: ignore[arg-type]
        session_id=session_id,
    )
    await _publish(session, data, affiliate, change, notice=CANCELLED_NOTICE)


def changed(affiliate: Affiliate, change: BankAccountChange, *, now: datetime) -> EventData:
    """The change took effect (published in bulk by the payment run)."""
    return BankAccountChanged(**_common(affiliate, change, now))  # type: ignore[arg-type]
