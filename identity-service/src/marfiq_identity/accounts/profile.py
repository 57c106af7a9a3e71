"""Changing one's own profile: language at once; a new phone or e-mail only once a code
sent to it is confirmed, and then the old contact is told."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import repository
from marfiq_identity.accounts.errors import ContactTaken, InvalidContact
from marfiq_identity.accounts.schemas import MeUpdate
from marfiq_identity.accounts.service import get_account
from marfiq_identity.notifications.messages import Channel
from marfiq_identity.notifications.service import queue_notice
from marfiq_identity.otp import service as otp
from marfiq_identity.otp.codes import CodeHasher
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.tokens.service import session_is_active
from marfiq_shared.auth import Principal
from marfiq_shared.problems import InvalidToken, StepUpRequired


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """The change applied now, and the code to send for a contact change, if any."""

    issued: otp.CodeIssued | None
    channel: Channel | None


async def _own_account_id(session: AsyncSession, principal: Principal) -> uuid.UUID:
    if not await session_is_active(session, sid=principal.sid):
        raise InvalidToken("session revoked")
    try:
        return uuid.UUID(principal.sub)
    except ValueError as exc:
        raise InvalidToken("machine clients have no profile") from exc


def _require_step_up(principal: Principal, *, proven: bool) -> None:
    # Once a CIN is proven on the account, a session that proved only a contact (low) must
    # not be able to redirect the account's codes elsewhere: that would be a takeover.
    if proven and not principal.has_acr("substantial"):
        raise StepUpRequired("substantial")


async def update_profile(
    session: AsyncSession,
    *,
    principal: Principal,
    changes: MeUpdate,
    settings: IdentitySettings,
    hasher: CodeHasher,
    client_address: str,
    now: datetime | None = None,
) -> ProfileChange:
    """Apply the language; for a new contact, open a challenge on it (sent after commit)."""
    now = now or datetime.now(UTC)
    account = await get_account(session, await _own_account_id(session, principal))
    if changes.phone is not None and changes.email is not None:
        raise InvalidContact("change the phone number and the e-mail address one at a time")
    if changes.language is not None and changes.language != account.language:
        account.language = changes.language
        account.updated_at = now
    channel: Channel | None = (
        "sms" if changes.phone is not None else "email" if changes.email is not None else None
    )
    if channel is None:
        return ProfileChange(issued=None, channel=None)
    _require_step_up(principal, proven=account.cin is not None)
    destination = changes.phone if channel == "sms" else changes.email
    assert destination is not None
    issued = await otp.request_code(
        session,
        channel=channel,
        destination=destination,
        language=account.language,  # type: ignore[arg-type]
        client_address=client_address,
        settings=settings,
        hasher=hasher,
        purpose="contact_change",
        account=account,
        now=now,
    )
    return ProfileChange(issued=issued, channel=channel)


async def confirm_contact(
    session: AsyncSession,
    *,
    principal: Principal,
    challenge_id: uuid.UUID,
    code: str,
    settings: IdentitySettings,
    hasher: CodeHasher,
    now: datetime | None = None,
) -> None:
    """Take the new contact the code was sent to; the replaced contact is told."""
    now = now or datetime.now(UTC)
    account_id = await _own_account_id(session, principal)
    proven = await otp.prove_code(
        session,
        challenge_id=challenge_id,
        code=code,
        purpose="contact_change",
        settings=settings,
        hasher=hasher,
        account_id=account_id,
        now=now,
    )
    account = await repository.get_for_update(session, account_id)
    assert account is not None
    _require_step_up(principal, proven=account.cin is not None)
    contact = proven.challenge.destination
    if proven.holder is not None and proven.holder.id != account.id:
        raise ContactTaken()
    channel: Channel = "sms" if proven.challenge.channel == "sms" else "email"
    previous = account.phone if channel == "sms" else account.email
    if previous == contact:
        return
    if channel == "sms":
        account.phone = contact
    else:
        account.email = contact
    account.updated_at = now
    if previous is not None:
        await queue_notice(
            session,
            account=account,
            kind="identity.contact_changed",
            params={},
            to={channel: previous},
            now=now,
        )
