"""Every query on accounts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.models import Account
from marfiq_identity.raw import Executor, driver, orm_session


async def get(session: AsyncSession, account_id: uuid.UUID) -> Account | None:
    return await session.get(Account, account_id)


async def get_by_email(session: AsyncSession, email: str) -> Account | None:
    found: Account | None = await session.scalar(select(Account).where(Account.email == email))
    return found


async def insert_unless_email_taken(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert an account unless its e-mail is already used; True when inserted.

    Safe under concurrency: replicas starting together insert it once.
    """
    inserted = await session.execute(
        insert(Account)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Account.email])
        .returning(Account.id)
    )
    return inserted.first() is not None


async def get_by_phone(session: AsyncSession, phone: str) -> Account | None:
    found: Account | None = await session.scalar(select(Account).where(Account.phone == phone))
    return found


async def get_by_cin(session: Executor, cin: str) -> Account | None:
    found: Account | None = await orm_session(session).scalar(
        select(Account).where(Account.cin == cin)
    )
    return found


# Every column of an account, for the snapshots the hot path reads through the driver.
ACCOUNT_COLUMNS = (
    "id",
    "kind",
    "phone",
    "email",
    "language",
    "cin",
    "administration_id",
    "roles",
    "created_at",
    "updated_at",
    "disabled_at",
)


@dataclass(frozen=True, slots=True)
class CinHolder:
    """The account that proved a CIN (a snapshot outside the session: change it through
    `get_for_update`), and whether it signed in before, and from the device named."""

    account: Account | None
    signed_in_before: bool
    device_known: bool


async def lock_cin_holder(session: Executor, cin: str, *, device: str | None) -> CinHolder:
    """Take the CIN's lock (`lock_key("cin:…")`, kept until the transaction ends) and read
    its account and that account's sign-ins from `device`, in one round trip (eID sign-in
    hot path; the function of migration 0009)."""
    row = await (await driver(session)).fetchrow(
        "SELECT * FROM identity.lock_cin_holder($1, $2)", cin, device
    )
    account = None
    if row["id"] is not None:
        account = Account(**{name: row[name] for name in ACCOUNT_COLUMNS})
    return CinHolder(account, bool(row["signed_in_before"]), bool(row["device_known"]))


async def get_by_contact(session: AsyncSession, contact: str) -> Account | None:
    """The account holding a normalised phone number (+…) or e-mail address."""
    if contact.startswith("+"):
        return await get_by_phone(session, contact)
    return await get_by_email(session, contact)


async def get_for_update(session: Executor, account_id: uuid.UUID) -> Account | None:
    return await orm_session(session).get(Account, account_id, with_for_update=True)


_INSERT = """
INSERT INTO identity.accounts (id, kind, phone, email, language, cin, administration_id, roles,
    created_at, updated_at, disabled_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""


async def insert_account(session: Executor, account: Account) -> None:
    """Insert a new account straight through the driver (it is on the sign-in hot path); the
    object stays outside the session, a snapshot of what was written."""
    await (await driver(session)).execute(
        _INSERT,
        account.id,
        account.kind,
        account.phone,
        account.email,
        account.language,
        account.cin,
        account.administration_id,
        account.roles,
        account.created_at,
        account.updated_at,
        account.disabled_at,
    )
