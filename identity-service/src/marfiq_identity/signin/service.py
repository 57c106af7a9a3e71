"""From a proven contact (or eID document) to an account and an assurance level.

A code verified on a self-declared contact proves only that contact: `low`. When an
authority ties the contact to a CIN (the pension fund's registry, an agent's in-person
check), the same code proves that CIN: `substantial`. The eID chip proves it: `high`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from marfiq_identity.accounts import repository as accounts
from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import new_account
from marfiq_identity.notifications.service import queue_notice
from marfiq_identity.otp.errors import AccountDisabled
from marfiq_identity.otp.repository import lock_key
from marfiq_identity.raw import Executor, orm_session
from marfiq_identity.tokens import repository as tokens
from marfiq_identity.tokens.schemas import TokenResponse
from marfiq_shared.auth import Acr
from marfiq_shared.settings import Language

log = logging.getLogger("marfiq.identity.signin")


@dataclass(frozen=True, slots=True)
class SessionOpened:
    """The tokens of a new session, and whether a notice waits for the delivery worker."""

    tokens: TokenResponse
    notice_queued: bool


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The account a proof signs in to. A `created` one is new and not written yet:
    `start_session(new_account=True)` stores it with the session, in one round trip."""

    account: Account
    acr: Acr
    created: bool = False


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    """Whether an account signed in before, and ever from the device of this sign-in."""

    before: bool
    known: bool


def _usable(account: Account) -> Account:
    if account.disabled_at is not None:
        raise AccountDisabled()
    return account


def _add_contact(account: Account, contact: str, now: datetime) -> None:
    if contact.startswith("+") and account.phone is None:
        account.phone = contact
    elif not contact.startswith("+") and account.email is None:
        account.email = contact
    else:
        return
    account.updated_at = now


async def account_for_contact(
    session: Executor,
    *,
    contact: str,
    account: Account | None,
    authoritative_cin: str | None,
    language: Language,
    now: datetime,
) -> SignedIn:
    """The account a verified code on `contact` signs in to, created on first sign-in.

    `account` is a snapshot of the one found for `contact` and `authoritative_cin` the CIN
    an authority ties to it (the caller holds the contact's lock and read both).
    """
    cin = authoritative_cin
    if cin is None:
        if account is not None:
            return SignedIn(_usable(account), "low")
        created = new_account(
            kind=AccountKind.citizen,
            phone=contact if contact.startswith("+") else None,
            email=None if contact.startswith("+") else contact,
            language=language,
            now=now,
        )
        return SignedIn(created, "low", created=True)
    await lock_key(session, f"cin:{cin}")
    holder = await accounts.get_by_cin(session, cin)
    if account is None:
        if holder is not None:
            # The person already has an account (an eID sign-in, another contact): the
            # registry says this contact is theirs too.
            _add_contact(_usable(holder), contact, now)
            return SignedIn(holder, "substantial")
        created = new_account(
            kind=AccountKind.citizen,
            phone=contact if contact.startswith("+") else None,
            email=None if contact.startswith("+") else contact,
            language=language,
            cin=cin,
            now=now,
        )
        return SignedIn(created, "substantial", created=True)
    _usable(account)
    if account.cin == cin:
        return SignedIn(account, "substantial")
    if account.cin is None and holder is None:
        stored = await accounts.get_for_update(session, account.id)
        assert stored is not None
        stored.cin = cin
        stored.updated_at = now
        return SignedIn(stored, "substantial")
    # The registry names someone other than the person this account proved to be (or
    # that CIN is proven on another account): prove nothing, let an agent sort it out.
    log.warning(
        "authoritative contact conflicts with the account's identity; signed in at low",
        extra={"account_id": str(account.id)},
    )
    return SignedIn(account, "low")


async def tell_if_new_device(
    session: Executor,
    *,
    signed_in: SignedIn,
    device: str | None,
    now: datetime,
    seen: DeviceSeen | None = None,
) -> bool:
    """Someone signs in to an account from a device it never used: tell the person on their
    channels, so that a code read over their shoulder does not go unnoticed. Whether a
    notice was queued (the caller wakes the delivery worker after the commit). `seen`, when
    the caller already read it for this account and device, saves the query."""
    if device is None or signed_in.created:
        return False
    if seen is None:
        before, known = await tokens.device_seen(
            session, account_id=signed_in.account.id, device=device
        )
        seen = DeviceSeen(before=before, known=known)
    if not seen.before or seen.known:
        return False
    await queue_notice(
        orm_session(session),
        account=signed_in.account,
        kind="identity.new_sign_in",
        params={},
        now=now,
    )
    return True
