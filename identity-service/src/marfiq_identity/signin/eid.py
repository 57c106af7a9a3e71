"""eID sign-in: hand out nonces, redeem them once, and sign in the holder the chip proves.

The chip checks themselves (Passive and Active Authentication, the MRZ) are `eid.service`;
this module stores the challenges and turns a proven identity into a session at `high`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from marfiq_identity.accounts import repository as accounts
from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import new_account
from marfiq_identity.eid.challenges import Challenge, new_challenge
from marfiq_identity.eid.errors import EidChallengeInvalid
from marfiq_identity.eid.service import EidIdentity, verify_eid
from marfiq_identity.eid.trust import TrustList
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.otp.errors import AccountDisabled
from marfiq_identity.raw import Executor, driver
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.signin.errors import CinMismatch, EidNoCin
from marfiq_identity.signin.service import (
    DeviceSeen,
    SessionOpened,
    SignedIn,
    tell_if_new_device,
)
from marfiq_identity.tokens.service import start_session
from marfiq_identity.transactions import KeptRefusal
from marfiq_shared.settings import Language


async def open_challenge(
    session: Executor, *, ttl_s: int, now: datetime | None = None
) -> Challenge:
    """Store a fresh 8-byte nonce for the chip to sign."""
    challenge = new_challenge(now=now or datetime.now(UTC), ttl=timedelta(seconds=ttl_s))
    await (await driver(session)).execute(
        "INSERT INTO identity.eid_challenges (id, nonce, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4)",
        challenge.id,
        challenge.nonce,
        challenge.created_at,
        challenge.expires_at,
    )
    return challenge


_REDEEM = """
UPDATE identity.eid_challenges SET used_at = $2
WHERE id = $1 AND used_at IS NULL AND expires_at > $2
RETURNING nonce
"""


async def redeem_challenge(
    session: Executor, *, challenge_id: uuid.UUID, now: datetime | None = None
) -> bytes:
    """Spend the challenge and return its nonce, in one statement: two answers can never
    share a nonce, and a failed answer burns it too (commit before verifying)."""
    now = now or datetime.now(UTC)
    nonce: bytes | None = await (await driver(session)).fetchval(_REDEEM, challenge_id, now)
    if nonce is None:
        raise EidChallengeInvalid()
    return nonce


async def account_for_eid(
    session: Executor,
    *,
    identity: EidIdentity,
    language: Language,
    linking: uuid.UUID | None = None,
    device: str | None = None,
    now: datetime | None = None,
) -> tuple[SignedIn, DeviceSeen | None]:
    """The account of the CIN the chip proved: found, linked to the signed-in account that
    asked (`linking`), or new (written with the session: `SignedIn.created`); with whether
    a found holder signed in before from `device`. Every refusal comes before anything is
    written."""
    now = now or datetime.now(UTC)
    if identity.cin is None:
        raise EidNoCin()
    cin = identity.cin
    found = await accounts.lock_cin_holder(session, cin, device=device)
    holder = found.account
    if holder is not None:
        if linking is not None and holder.id != linking:
            raise CinMismatch("this identity is proven on another account")
        seen = DeviceSeen(before=found.signed_in_before, known=found.device_known)
        return SignedIn(_usable(holder), "high"), seen
    if linking is not None:
        account = await accounts.get_for_update(session, linking)
        if account is not None:
            if account.cin is not None and account.cin != cin:
                raise CinMismatch()
            # Refused before anything is written: the caller commits the spent nonce.
            _usable(account)
            account.cin = cin
            account.updated_at = now
            return SignedIn(account, "high"), None
    created = new_account(kind=AccountKind.citizen, cin=cin, language=language, now=now)
    return SignedIn(created, "high", created=True), None


def _usable(account: Account) -> Account:
    if account.disabled_at is not None:
        raise AccountDisabled()
    return account


class CardRefused(KeptRefusal):
    """A refused answer, raised once the spent nonce is committed (`problem` is the why)."""

    def __init__(self, problem: Exception) -> None:
        super().__init__(str(problem))
        self.problem = problem


async def sign_in_with_card(
    session: Executor,
    *,
    challenge_id: uuid.UUID,
    files: dict[str, bytes],
    trust: TrustList,
    linking: uuid.UUID | None,
    language: Language,
    device: str | None,
    keyring: KeyRing,
    settings: IdentitySettings,
    now: datetime,
) -> SessionOpened:
    """Spend the nonce, check the card, and open a session at `high` for its holder.

    All in one transaction: the challenge row stays locked until the end, so a second
    answer waits and then finds it spent. A refused answer (forged, expired, another
    account's CIN...) is raised as `CardRefused`, so the spent nonce is committed first.
    """
    nonce = await redeem_challenge(session, challenge_id=challenge_id, now=now)
    try:
        identity = verify_eid(nonce=nonce, trust=trust, now=now, **files)
        signed_in, seen = await account_for_eid(
            session,
            identity=identity,
            language=language,
            linking=linking,
            device=device,
            now=now,
        )
    except Exception as refusal:
        raise CardRefused(refusal) from refusal
    notice_queued = await tell_if_new_device(
        session, signed_in=signed_in, device=device, now=now, seen=seen
    )
    tokens = await start_session(
        session,
        account=signed_in.account,
        acr="high",
        amr=["sc", "hwk"],
        keyring=keyring,
        settings=settings,
        now=now,
        device=device,
        new_account=signed_in.created,
    )
    return SessionOpened(tokens, notice_queued)
