"""Every query on challenges and on the sending and guessing counters.

The two hot paths (asking for a code, answering one) read everything they decide on in a
single round trip each: `send_state` and `proof_state`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    null,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.models import Account
from marfiq_identity.otp.models import OtpChallenge, OtpFailureCount


async def lock_key(session: AsyncSession, key: str) -> None:
    """Serialise, until the transaction ends, everything done for one contact (or CIN)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


def _holder_of(contact: str) -> ColumnElement[bool]:
    return Account.phone == contact if contact.startswith("+") else Account.email == contact


def _failures_of(contact: str) -> ColumnElement[bool]:
    # The contact's count, and its account's (correlated to the account row of the query).
    # IN, not OR: Postgres serves `subject = ANY(...)` from the primary key.
    return OtpFailureCount.subject.in_(
        [literal(f"contact:{contact}"), "account:" + cast(Account.id, String)]
    )


def _with_holder(contact: str, *columns: Any) -> Select[Any]:
    """One row whatever happens: the contact's account (or None) and `columns`."""
    one = select(literal(1).label("one")).subquery()
    return select(Account, *columns).select_from(one).outerjoin(Account, _holder_of(contact))


@dataclass(frozen=True, slots=True)
class SendState:
    """What decides whether a code may go to a contact now."""

    holder: Account | None
    throttled_until: datetime | None
    sent: int
    last_sent_at: datetime | None
    from_address: int
    oldest_from_address: datetime | None


async def send_state(
    session: AsyncSession,
    *,
    contact: str,
    contact_since: datetime,
    address: str,
    address_since: datetime,
    address_limit: int,
) -> SendState:
    """The contact's account, its throttling, the codes sent to it since `contact_since`,
    and the codes asked from `address` since `address_since` (counted up to the limit)."""
    to_contact = and_(OtpChallenge.destination == contact, OtpChallenge.created_at > contact_since)
    from_address = (
        select(OtpChallenge.created_at)
        .where(OtpChallenge.client_address == address, OtpChallenge.created_at > address_since)
        .order_by(OtpChallenge.created_at.desc())
        .limit(address_limit)
        .subquery()
    )
    statement = _with_holder(
        contact,
        select(func.max(OtpFailureCount.throttled_until))
        .where(_failures_of(contact))
        .scalar_subquery(),
        select(func.count()).select_from(OtpChallenge).where(to_contact).scalar_subquery(),
        select(func.max(OtpChallenge.created_at)).where(to_contact).scalar_subquery(),
        select(func.count()).select_from(from_address).scalar_subquery(),
        select(func.min(from_address.c.created_at)).scalar_subquery(),
    )
    row = (await session.execute(statement)).one()
    return SendState(row[0], row[1], int(row[2]), row[3], int(row[4]), row[5])


@dataclass(frozen=True, slots=True)
class ProofState:
    """The contact's account, and where its failure counts stand."""

    holder: Account | None
    throttled_until: datetime | None
    has_failures: bool


async def proof_state(session: AsyncSession, *, contact: str) -> ProofState:
    """The contact's account and its failure counts, in one round trip."""
    statement = _with_holder(
        contact,
        select(func.max(OtpFailureCount.throttled_until))
        .where(_failures_of(contact))
        .scalar_subquery(),
        exists().where(_failures_of(contact)),
    )
    row = (await session.execute(statement)).one()
    return ProofState(row[0], row[1], bool(row[2]))


async def spend_attempt(
    session: AsyncSession,
    *,
    challenge_id: uuid.UUID,
    purpose: str,
    account_id: uuid.UUID | None,
    now: datetime,
    max_attempts: int,
) -> OtpChallenge | None:
    """Count one try on a live challenge that has tries left and return it (locked until
    the transaction ends); None when there is no such challenge."""
    conditions = [
        OtpChallenge.id == challenge_id,
        OtpChallenge.purpose == purpose,
        OtpChallenge.consumed_at.is_(None),
        OtpChallenge.expires_at > now,
        OtpChallenge.attempts < max_attempts,
    ]
    if account_id is not None:
        conditions.append(OtpChallenge.account_id == account_id)
    spent: OtpChallenge | None = await session.scalar(
        update(OtpChallenge)
        .where(*conditions)
        .values(attempts=OtpChallenge.attempts + 1)
        .returning(OtpChallenge),
        execution_options={"synchronize_session": False},
    )
    return spent


async def get_challenge(session: AsyncSession, challenge_id: uuid.UUID) -> OtpChallenge | None:
    return await session.get(OtpChallenge, challenge_id)


def add_challenge(session: AsyncSession, challenge: OtpChallenge) -> None:
    session.add(challenge)


async def record_failure(
    session: AsyncSession,
    *,
    subjects: Sequence[str],
    now: datetime,
    stale_before: datetime,
    limit: int,
    throttled_until: datetime,
) -> None:
    """Count one more consecutive failure for each subject (restarting stale counts);
    reaching `limit` throttles the subject until `throttled_until`."""
    table = OtpFailureCount.__table__
    first = {"failures": 1, "last_failure_at": now}
    rows = [
        {"subject": subject, **first, "throttled_until": throttled_until if limit <= 1 else None}
        for subject in subjects
    ]
    # In ON CONFLICT DO UPDATE the table's columns are the row already stored.
    failures = case((table.c.last_failure_at < stale_before, 1), else_=table.c.failures + 1)
    statement = (
        insert(table)
        .values(rows)
        .on_conflict_do_update(
            index_elements=[table.c.subject],
            set_={
                "failures": failures,
                "last_failure_at": now,
                "throttled_until": case((failures >= limit, throttled_until), else_=null()),
            },
        )
    )
    await session.execute(statement)


async def clear_failures(session: AsyncSession, subjects: Sequence[str]) -> None:
    """A right code ends the run of consecutive failures."""
    await session.execute(delete(OtpFailureCount).where(OtpFailureCount.subject.in_(subjects)))


async def prune(
    session: AsyncSession,
    *,
    challenges_before: datetime,
    failures_before: datetime,
) -> None:
    """Forget challenges and counters that can no longer matter."""
    await session.execute(delete(OtpChallenge).where(OtpChallenge.created_at < challenges_before))
    await session.execute(
        delete(OtpFailureCount).where(
            OtpFailureCount.last_failure_at < failures_before,
            func.coalesce(OtpFailureCount.throttled_until, OtpFailureCount.last_failure_at)
            < failures_before,
        )
    )
