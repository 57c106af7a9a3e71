"""eID sign-in: hand out nonces, redeem them once, and sign in the holder the chip proves.

The chip checks themselves (Passive and Active Authentication, the MRZ) are `eid.service`;
this module stores the challenges and turns a proven identity into a session at `high`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import repository as accounts
from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import create_account
from marfiq_identity.eid.challenges import new_challenge
from marfiq_identity.eid.errors import EidChallengeInvalid
from marfiq_identity.eid.models import EidChallenge
from marfiq_identity.eid.service import EidIdentity
from marfiq_identity.otp.errors import AccountDisabled
from marfiq_identity.otp.repository import lock_key
from marfiq_identity.signin.errors import CinMismatch, EidNoCin
from marfiq_identity.signin.service import SignedIn
from marfiq_shared.settings import Language


async def open_challenge(
    session: AsyncSession, *, ttl_s: int, now: datetime | None = None
) -> EidChallenge:
    """Store a fresh 8-byte nonce for the chip to sign."""
    challenge = new_challenge(now=now or datetime.now(UTC), ttl=timedelta(seconds=ttl_s))
    row = EidChallenge(
        id=challenge.id,
        nonce=challenge.nonce,
        created_at=challenge.created_at,
        expires_at=challenge.expires_at,
        used_at=None,
    )
    session.add(row)
    await session.flush()
    return row


async def redeem_challenge(
    session: AsyncSession, *, challenge_id: uuid.UUID, now: datetime | None = None
) -> bytes:
    """Spend the challenge and return its nonce, in one statement: two answers can never
    share a nonce, and a failed answer burns it too (commit before verifying)."""
    now = now or datetime.now(UTC)
    nonce: bytes | None = await session.scalar(
        update(EidChallenge)
        .where(
            EidChallenge.id == challenge_id,
            EidChallenge.used_at.is_(None),
            EidChallenge.expires_at > now,
        )
        .values(used_at=now)
        .returning(EidChallenge.nonce)
    )
    if nonce is None:
        raise EidChallengeInvalid()
    return nonce


async def account_for_eid(
    session: AsyncSession,
    *,
    identity: EidIdentity,
    language: Language,
    linking: uuid.UUID | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """The account of the CIN the chip proved: found, linked to the signed-in account that
    asked (`linking`), or created."""
    now = now or datetime.now(UTC)
    if identity.cin is None:
        raise EidNoCin()
    cin = identity.cin
    await lock_key(session, f"cin:{cin}")
    holder = await accounts.get_by_cin(session, cin)
    if holder is not None:
        if linking is not None and holder.id != linking:
            raise CinMismatch("this identity is proven on another account")
        return SignedIn(_usable(holder), "high")
    if linking is not None:
        account = await accounts.get_for_update(session, linking)
        if account is not None:
            if account.cin is not None and account.cin != cin:
                raise CinMismatch()
            account.cin = cin
            account.updated_at = now
            return SignedIn(_usable(account), "high")
    created = await create_account(
        session, kind=AccountKind.citizen, cin=cin, language=language, now=now
    )
    return SignedIn(created, "high", created=True)


def _usable(account: Account) -> Account:
    if account.disabled_at is not None:
        raise AccountDisabled()
    return account
