"""Every query on payment runs and payments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.payments.models import Payment, PaymentRun


async def run_of(session: AsyncSession, month: date) -> PaymentRun | None:
    return await session.get(PaymentRun, month)


async def of_affiliate(
    session: AsyncSession, affiliate_id: uuid.UUID, *, before: date | None, limit: int
) -> list[Payment]:
    """An affiliate's payments, newest month first."""
    query = select(Payment).where(Payment.affiliate_id == affiliate_id)
    if before is not None:
        query = query.where(Payment.month < before)
    result = await session.execute(query.order_by(Payment.month.desc()).limit(limit))
    return list(result.scalars())


async def lock_month(connection: Any, month: date) -> None:
    """Serialise runs of one month across replicas (released at the commit)."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtext('pensions.payment_run'), $1)",
        month.year * 12 + month.month - 1,
    )


async def end_replaced_accounts(connection: Any, *, month: date, started: datetime) -> None:
    """Accounts in force that a change due this month replaces."""
    await connection.execute(
        """
        UPDATE pensions.bank_account_changes AS c SET status = 'replaced', ended_at = $2
        WHERE c.status = 'in_force' AND EXISTS (
            SELECT 1 FROM pensions.bank_account_changes AS due
            WHERE due.affiliate_id = c.affiliate_id AND due.status = 'pending'
              AND due.effective_month <= $1 AND due.requested_at <= $2)
        """,
        month,
        started,
    )


async def put_due_changes_in_force(connection: Any, *, month: date, started: datetime) -> list[Any]:
    """Pending changes due this month become the accounts in force; with whose they are."""
    return list(
        await connection.fetch(
            """
            WITH applied AS (
                UPDATE pensions.bank_account_changes
                SET status = 'in_force', in_force_at = $2
                WHERE status = 'pending' AND effective_month <= $1 AND requested_at <= $2
                RETURNING id, affiliate_id, rib, effective_month
            )
            SELECT applied.*, a.affiliation_number, a.cin
            FROM applied JOIN pensions.affiliates AS a ON a.id = applied.affiliate_id
            """,
            month,
            started,
        )
    )


async def audit_in_force(connection: Any, changes: list[Any], *, at: datetime) -> None:
    if not changes:
        return
    await connection.execute(
        """
        INSERT INTO pensions.bank_account_audit (affiliate_id, change_id, action, at, actor)
        SELECT u.affiliate_id, u.change_id, 'in_force', $3, 'payment-run'
        FROM unnest($1::uuid[], $2::uuid[]) AS u(affiliate_id, change_id)
        """,
        [change["affiliate_id"] for change in changes],
        [change["id"] for change in changes],
        at,
    )


async def unliquidated(connection: Any, *, month: date) -> list[Any]:
    """Retired affiliates due a payment whose pension has not been liquidated yet."""
    return list(
        await connection.fetch(
            """
            SELECT id, cin, regime, pension_start FROM pensions.affiliates
            WHERE status = 'retired' AND monthly_pension IS NULL AND pension_start < $1
            """,
            month_after(month),
        )
    )


async def set_pension(connection: Any, affiliate_id: uuid.UUID, amount: Decimal) -> None:
    await connection.execute(
        "UPDATE pensions.affiliates SET monthly_pension = $2 WHERE id = $1",
        affiliate_id,
        amount,
    )


async def record_payments(connection: Any, *, month: date, now: datetime) -> list[Any]:
    """A payment of the month for every retired affiliate with a liquidated pension, to the
    account in force (`held` without one); those already paid this month are left alone."""
    return list(
        await connection.fetch(
            """
            WITH paid AS (
                INSERT INTO pensions.payments (id, affiliate_id, month, amount, status, rib,
                                               bank_account_change_id, recorded_at)
                SELECT gen_random_uuid(), a.id, $1, a.monthly_pension,
                       CASE WHEN c.id IS NULL THEN 'held' ELSE 'paid' END, c.rib, c.id, $3
                FROM pensions.affiliates AS a
                LEFT JOIN pensions.bank_account_changes AS c
                       ON c.affiliate_id = a.id AND c.status = 'in_force'
                WHERE a.status = 'retired' AND a.monthly_pension IS NOT NULL
                  AND a.pension_start < $2
                ON CONFLICT (affiliate_id, month) DO NOTHING
                RETURNING id, affiliate_id, amount, status, rib
            )
            SELECT paid.*, a.affiliation_number, a.cin
            FROM paid JOIN pensions.affiliates AS a ON a.id = paid.affiliate_id
            """,
            month,
            month_after(month),
            now,
        )
    )


def month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def add_run(session: AsyncSession, run: PaymentRun) -> None:
    session.add(run)
