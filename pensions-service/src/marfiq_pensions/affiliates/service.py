"""The affiliate's own file: reading it, and the changes the affiliate may make."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_pensions.affiliates import repository
from marfiq_pensions.affiliates.events import contact_registered
from marfiq_pensions.affiliates.models import Affiliate, AffiliateStatus
from marfiq_pensions.affiliates.schemas import AffiliateRead, AffiliateUpdate, PostalAddress
from marfiq_pensions.declarations.rows import normalize_phone
from marfiq_pensions.regimes import RegimeCode
from marfiq_shared.auth import Principal
from marfiq_shared.events.outbox import add_event
from marfiq_shared.problems import StepUpRequired, ValidationFailed


def read(affiliate: Affiliate) -> AffiliateRead:
    """The affiliation summary."""
    address = None
    if affiliate.address_line1 and affiliate.postal_code and affiliate.city:
        address = PostalAddress(
            line1=affiliate.address_line1,
            line2=affiliate.address_line2,
            postal_code=affiliate.postal_code,
            city=affiliate.city,
        )
    return AffiliateRead(
        affiliation_number=affiliate.affiliation_number,
        cin=affiliate.cin,
        last_name=affiliate.last_name,
        first_name=affiliate.first_name,
        birth_date=affiliate.birth_date,
        regime=RegimeCode(affiliate.regime),
        status=AffiliateStatus(affiliate.status),
        phone=affiliate.phone,
        postal_address=address,
        pension_start=affiliate.pension_start,
        monthly_pension=affiliate.monthly_pension,
        version=affiliate.version,
    )


async def update(
    session: AsyncSession,
    *,
    holder: Principal,
    affiliate: Affiliate,
    data: AffiliateUpdate,
    now: datetime,
) -> AffiliateRead:
    """Change the postal address and/or the phone the fund holds.

    The phone becomes an authoritative contact for identity, so changing it needs the
    same assurance as the bank account.
    """
    locked = await repository.by_cin_for_update(session, affiliate.cin)
    assert locked is not None
    if "postal_address" in data.model_fields_set:
        address = data.postal_address
        locked.address_line1 = address.line1 if address else None
        locked.address_line2 = address.line2 if address else None
        locked.postal_code = address.postal_code if address else None
        locked.city = address.city if address else None
    if "phone" in data.model_fields_set and data.phone != locked.phone:
        if not holder.has_acr("substantial"):
            raise StepUpRequired("substantial", "changing the phone the fund holds")
        phone = normalize_phone(data.phone) if data.phone else None
        if data.phone and phone is None:
            raise ValidationFailed(
                "not a mobile phone number",
                errors=[{"field": "phone", "in": "body", "message": "not a mobile number"}],
            )
        if phone is not None and phone != locked.phone:
            await add_event(
                session,
                contact_registered(cin=locked.cin, phone=phone),
                subject=locked.affiliation_number,
            )
        locked.phone = phone
    locked.updated_at = now
    locked.version += 1
    await session.flush()
    return read(locked)
