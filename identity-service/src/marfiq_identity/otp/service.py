"""The rules of one-time codes: who may get one, how often, and what a right one proves.

Nothing here depends on whether an account exists for the contact, except the language of
the message: requesting a code does the same work and gives the same answer either way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts.errors import InvalidContact
from marfiq_identity.accounts.models import Account
from marfiq_identity.accounts.service import normalize_email, phone_number
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.notifications.messages import Channel, CodePurpose, Message, code_message
from marfiq_identity.otp import repository
from marfiq_identity.otp.codes import CodeHasher, new_code
from marfiq_identity.otp.errors import (
    AttemptsExhausted,
    CodeExpired,
    ResendTooSoon,
    SendLimitReached,
    Throttled,
    WrongCode,
)
from marfiq_identity.otp.repository import SendState, SpentTry
from marfiq_identity.raw import Executor
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.signin.service import (
    DeviceSeen,
    SessionOpened,
    account_for_contact,
    tell_if_new_device,
)
from marfiq_identity.tokens.service import start_session
from marfiq_shared.settings import Language

_SMS_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


@dataclass(frozen=True, slots=True)
class CodeIssued:
    """A committed challenge and the message to send once the commit is done."""

    challenge_id: uuid.UUID
    expires_in: int
    message: Message


def normalize_destination(channel: Channel, destination: str) -> str:
    """The stored form of a contact; an SMS needs a number that can receive one."""
    if channel == "email":
        if destination.startswith("+") or "@" not in destination:
            raise InvalidContact("not an e-mail address")
        return normalize_email(destination)
    if "@" in destination:
        raise InvalidContact("not a phone number")
    phone, kind = phone_number(destination)
    if kind not in _SMS_TYPES:
        raise InvalidContact("this number cannot receive text messages")
    return phone


def failure_subjects(contact: str, account: Account | None) -> list[str]:
    """What failed tries count against: the contact, and its account when there is one."""
    subjects = [f"contact:{contact}"]
    if account is not None:
        subjects.append(f"account:{account.id}")
    return subjects


def _check_not_throttled(until: datetime | None, now: datetime) -> None:
    if until is not None and until > now:
        raise Throttled(until=until, now=now)


async def request_code(
    session: Executor,
    *,
    channel: Channel,
    destination: str,
    language: Language,
    client_address: str,
    settings: IdentitySettings,
    hasher: CodeHasher,
    purpose: CodePurpose = "sign_in",
    account: Account | None = None,
    now: datetime | None = None,
) -> CodeIssued:
    """Open a challenge for `destination` within the send limits; return what to send.

    One statement, atomic by itself: the caller needs no transaction around it. A refused
    request writes nothing.
    """
    now = now or datetime.now(UTC)
    contact = normalize_destination(channel, destination)
    window = timedelta(seconds=settings.otp_destination_window_s)
    address_window = timedelta(seconds=settings.otp_address_window_s)
    if account is not None:
        language = account.language  # type: ignore[assignment]
    challenge_id = uuid.uuid4()
    code = new_code()
    state = await repository.open_challenge(
        session,
        challenge_id=challenge_id,
        purpose=purpose,
        channel=channel,
        destination=contact,
        account_id=account.id if account is not None else None,
        code_hash=hasher.digest(challenge_id, code),
        language=language,
        client_address=client_address,
        now=now,
        expires_at=now + timedelta(seconds=settings.otp_ttl_s),
        contact_since=now - window,
        address_since=now - address_window,
        cooldown_s=settings.otp_resend_cooldown_s,
        destination_limit=settings.otp_destination_limit,
        address_limit=settings.otp_address_limit,
    )
    if not state.opened:
        raise _send_refusal(state, now=now, settings=settings)
    if state.holder_language is not None:
        language = state.holder_language  # type: ignore[assignment]
    return CodeIssued(
        challenge_id=challenge_id,
        expires_in=settings.otp_ttl_s,
        message=code_message(
            channel=channel,
            to=contact,
            code=code,
            language=language,
            ttl_s=settings.otp_ttl_s,
            purpose=purpose,
        ),
    )


def _send_refusal(state: SendState, *, now: datetime, settings: IdentitySettings) -> Exception:
    """Why the database refused to open a challenge (it applied these very limits)."""
    if state.throttled_until is not None and state.throttled_until > now:
        return Throttled(until=state.throttled_until, now=now)
    cooldown = timedelta(seconds=settings.otp_resend_cooldown_s)
    if state.last_sent_at is not None and now - state.last_sent_at < cooldown:
        return ResendTooSoon(until=state.last_sent_at + cooldown, now=now)
    window = timedelta(seconds=settings.otp_destination_window_s)
    if state.sent >= settings.otp_destination_limit:
        return SendLimitReached(until=now + window, now=now)
    # Concurrent requests of one address do not see each other's uncommitted challenges,
    # so a burst may pass the address limit by the number in flight: the price of never
    # making requests queue behind one another.
    oldest = state.oldest_from_address or now
    address_window = timedelta(seconds=settings.otp_address_window_s)
    return SendLimitReached(until=oldest + address_window, now=now)


@dataclass(frozen=True, slots=True)
class CodeProven:
    """A right code: the challenge it answered, the account its contact belongs to, and
    whether that account signed in before and from the device named."""

    challenge: SpentTry
    holder: Account | None
    authoritative_cin: str | None
    seen: DeviceSeen | None = None


async def prove_code(
    session: Executor,
    *,
    challenge_id: uuid.UUID,
    code: str,
    purpose: CodePurpose,
    settings: IdentitySettings,
    hasher: CodeHasher,
    account_id: uuid.UUID | None = None,
    device: str | None = None,
    now: datetime | None = None,
) -> CodeProven:
    """Spend one try of a challenge; the challenge is consumed when the code is right.

    A wrong code is a `WrongCode` to be committed (it counts against the challenge, the
    contact and its account). Once `otp_max_attempts` tries are spent, even the right code
    is refused.
    """
    now = now or datetime.now(UTC)
    tried = await repository.try_code(
        session,
        challenge_id=challenge_id,
        purpose=purpose,
        account_id=account_id,
        now=now,
        max_attempts=settings.otp_max_attempts,
        code_hash=hasher.digest(challenge_id, code),
        device=device,
    )
    if tried is None:
        found = await repository.get_challenge(session, challenge_id)
        if (
            found is not None
            and found.purpose == purpose
            and (account_id is None or found.account_id == account_id)
            and found.consumed_at is None
            and found.expires_at > now
        ):
            raise AttemptsExhausted()
        raise CodeExpired()
    challenge = tried.challenge
    # The contact is locked now. A right code was spent in the statement that read the
    # state (the database compared the digests; the decision is this constant-time one,
    # on the same values); a throttled try is refused and rolled back: it costs the
    # challenge nothing.
    right = hasher.matches(challenge.id, code, challenge.code_hash)
    holder = tried.holder
    subjects = failure_subjects(challenge.destination, holder)
    _check_not_throttled(tried.throttled_until, now)
    if not right:
        await repository.record_failure(
            session,
            subjects=subjects,
            now=now,
            stale_before=now - timedelta(seconds=settings.otp_failure_window_s),
            limit=settings.otp_failure_limit,
            throttled_until=now + timedelta(seconds=settings.otp_failure_throttle_s),
        )
        raise WrongCode(attempts_left=settings.otp_max_attempts - challenge.attempts)
    if tried.has_failures:
        await repository.clear_failures(session, subjects)
    seen = None
    if holder is not None and device is not None:
        seen = DeviceSeen(before=tried.signed_in_before, known=tried.device_known)
    return CodeProven(
        challenge=challenge, holder=holder, authoritative_cin=tried.authoritative_cin, seen=seen
    )


async def prune(session: AsyncSession, *, settings: IdentitySettings, now: datetime) -> None:
    """Forget challenges and counters that no limit looks at any more."""
    keep = max(settings.otp_destination_window_s, settings.otp_ttl_s, settings.otp_address_window_s)
    await repository.prune(
        session,
        challenges_before=now - timedelta(seconds=keep) - timedelta(days=1),
        failures_before=now - timedelta(seconds=settings.otp_failure_window_s),
    )


async def sign_in_with_code(
    session: Executor,
    *,
    challenge_id: uuid.UUID,
    code: str,
    settings: IdentitySettings,
    hasher: CodeHasher,
    keyring: KeyRing,
    device: str | None = None,
    now: datetime | None = None,
) -> SessionOpened:
    """Verify a sign-in code and open a session; the first sign-in creates a citizen, a
    sign-in from a new device is told to the person."""
    now = now or datetime.now(UTC)
    proven = await prove_code(
        session,
        challenge_id=challenge_id,
        code=code,
        purpose="sign_in",
        settings=settings,
        hasher=hasher,
        device=device,
        now=now,
    )
    challenge = proven.challenge
    signed_in = await account_for_contact(
        session,
        contact=challenge.destination,
        account=proven.holder,
        authoritative_cin=proven.authoritative_cin,
        language=challenge.language,  # type: ignore[arg-type]
        now=now,
    )
    notice_queued = await tell_if_new_device(
        session,
        signed_in=signed_in,
        device=device,
        now=now,
        seen=proven.seen if signed_in.account is proven.holder else None,
    )
    tokens = await start_session(
        session,
        account=signed_in.account,
        acr=signed_in.acr,
        amr=["otp", challenge.channel],
        keyring=keyring,
        settings=settings,
        now=now,
        device=device,
        new_account=signed_in.created,
    )
    return SessionOpened(tokens, notice_queued)
