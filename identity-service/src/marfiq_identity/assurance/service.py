"""The authoritative contacts registry and in-person identity checks."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import repository as accounts
from marfiq_identity.accounts.errors import InvalidContact
from marfiq_identity.accounts.service import normalize_email, normalize_phone
from marfiq_identity.assurance import repository
from marfiq_identity.assurance.errors import CinTaken, ContactUnknown
from marfiq_identity.assurance.models import IdentityCheck
from marfiq_identity.assurance.schemas import IdentityCheckCreate, IdentityCheckRead
from marfiq_identity.otp.repository import lock_key
from marfiq_identity.signin.errors import CinMismatch
from marfiq_shared.auth import Principal
from marfiq_shared.events.catalogue import AffiliateContactRegistered
from marfiq_shared.events.envelope import CloudEvent

log = logging.getLogger("marfiq.identity.assurance")


def _normalize_contact(contact: str) -> str:
    return normalize_email(contact) if "@" in contact else normalize_phone(contact)


async def on_contact_registered(
    session: AsyncSession, event: CloudEvent, data: AffiliateContactRegistered
) -> None:
    """`pensions.affiliate.contact_registered`: the fund vouches that this phone is the
    affiliate's. Out-of-order deliveries are settled by the event time."""
    try:
        phone = normalize_phone(data.phone)
    except InvalidContact:
        log.warning("unusable phone in a contact registration", extra={"event_id": event.id})
        return
    await repository.register_contact(
        session,
        contact=phone,
        cin=data.cin.strip().upper(),
        source="pensions",
        registered_at=event.time,
    )


async def record_identity_check(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    agent: Principal,
    data: IdentityCheckCreate,
    now: datetime | None = None,
) -> IdentityCheckRead:
    """An agent saw the person and their document: the CIN is proven on the account, and
    the account's contacts become authoritative (a code to them proves `substantial`)."""
    now = now or datetime.now(UTC)
    contact = _normalize_contact(data.contact)
    await lock_key(session, f"cin:{data.cin}")
    account = await accounts.get_by_contact(session, contact)
    if account is None or account.disabled_at is not None:
        raise ContactUnknown()
    account = await accounts.get_for_update(session, account.id)
    assert account is not None
    holder = await accounts.get_by_cin(session, data.cin)
    if holder is not None and holder.id != account.id:
        raise CinTaken()
    if account.cin is not None and account.cin != data.cin:
        raise CinMismatch("the account already proves another CIN")
    account.cin = data.cin
    account.updated_at = now
    for known in filter(None, (account.phone, account.email)):
        await repository.register_contact(
            session, contact=known, cin=data.cin, source="in_person", registered_at=now
        )
    check = IdentityCheck(
        id=uuid.uuid4(),
        account_id=account.id,
        cin=data.cin,
        document_type=data.document_type,
        administration_id=administration_id,
        checked_by=uuid.UUID(agent.sub),
        checked_at=now,
    )
    repository.add_check(session, check)
    await session.flush()
    return IdentityCheckRead(
        id=check.id,
        account_id=account.id,
        cin=check.cin,
        document_type=check.document_type,
        administration_id=administration_id,
        checked_at=now,
    )
