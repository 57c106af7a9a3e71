"""Accounts: creation with normalised contacts, the bootstrap administrator, the profile."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import repository
from marfiq_identity.accounts.errors import AccountNotFound, InvalidContact
from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.schemas import MeRead
from marfiq_identity.raw import Executor
from marfiq_identity.tokens.service import session_is_active
from marfiq_shared.auth import Principal
from marfiq_shared.problems import InvalidToken
from marfiq_shared.settings import Language

log = logging.getLogger("marfiq.identity.accounts")

DEFAULT_PHONE_REGION = "MA"


def normalize_email(email: str) -> str:
    """The lower-cased form accounts are stored and looked up by."""
    try:
        checked = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidContact(str(exc)) from exc
    return checked.normalized.lower()


def normalize_phone(phone: str) -> str:
    """E.164; a national Moroccan number (06…, 07…) is read as such."""
    return phone_number(phone)[0]


# Parsing is pure Python (~50 µs) and a sign-in reads the same number when the code is
# asked for and again when the account is created: remember the last few thousand.
@lru_cache(maxsize=4096)
def phone_number(phone: str) -> tuple[str, int]:
    """The E.164 form of a valid phone number and its `phonenumbers.PhoneNumberType`."""
    try:
        parsed = phonenumbers.parse(phone, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact(str(exc)) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidContact("not a valid phone number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return e164, phonenumbers.number_type(parsed)


def default_roles(kind: AccountKind) -> list[str]:
    return [kind.value]


def new_account(
    *,
    kind: AccountKind,
    email: str | None = None,
    phone: str | None = None,
    language: Language = "fr",
    administration_id: uuid.UUID | None = None,
    roles: Iterable[str] | None = None,
    cin: str | None = None,
    now: datetime | None = None,
) -> Account:
    """An account with normalised contacts, not written yet (see `create_account`)."""
    if email is None and phone is None and cin is None:
        raise InvalidContact("an account needs a phone number, an e-mail address or a CIN")
    now = now or datetime.now(UTC)
    return Account(
        id=uuid.uuid4(),
        kind=kind.value,
        email=normalize_email(email) if email is not None else None,
        phone=normalize_phone(phone) if phone is not None else None,
        language=language,
        cin=cin,
        administration_id=administration_id,
        roles=sorted(set(roles if roles is not None else default_roles(kind))),
        created_at=now,
        updated_at=now,
        disabled_at=None,
    )


async def create_account(
    session: Executor,
    *,
    kind: AccountKind,
    email: str | None = None,
    phone: str | None = None,
    language: Language = "fr",
    administration_id: uuid.UUID | None = None,
    roles: Iterable[str] | None = None,
    cin: str | None = None,
    now: datetime | None = None,
) -> Account:
    """Create an account with normalised contacts (no duplicate check: constraints hold).

    The returned object is a snapshot of the row written, not attached to the session:
    change an account through `repository.get_for_update`.
    """
    account = new_account(
        kind=kind,
        email=email,
        phone=phone,
        language=language,
        administration_id=administration_id,
        roles=roles,
        cin=cin,
        now=now,
    )
    await repository.insert_account(session, account)
    return account


async def bootstrap_platform_admin(
    session: AsyncSession, *, email: str, language: Language, now: datetime | None = None
) -> Account | None:
    """Make sure the configured first administrator exists; idempotent across restarts."""
    normalized = normalize_email(email)
    now = now or datetime.now(UTC)
    created = await repository.insert_unless_email_taken(
        session,
        {
            "id": uuid.uuid4(),
            "kind": AccountKind.platform_admin.value,
            "email": normalized,
            "language": language,
            "roles": default_roles(AccountKind.platform_admin),
            "created_at": now,
            "updated_at": now,
        },
    )
    account = await repository.get_by_email(session, normalized)
    if created:
        log.info("bootstrap platform administrator created", extra={"email": normalized})
    elif account is not None and account.kind != AccountKind.platform_admin.value:
        # Never turn an existing citizen or agent account into an administrator silently.
        log.warning(
            "bootstrap administrator e-mail belongs to a non-administrator account; unchanged",
            extra={"email": normalized, "kind": account.kind},
        )
        return None
    return account


async def get_account(session: AsyncSession, account_id: uuid.UUID) -> Account:
    """The account, or `AccountNotFound`."""
    account = await repository.get(session, account_id)
    if account is None or account.disabled_at is not None:
        raise AccountNotFound()
    return account


async def read_profile(session: AsyncSession, *, principal: Principal) -> MeRead:
    """The caller's own profile, refused when their session was revoked."""
    if not await session_is_active(session, sid=principal.sid):
        raise InvalidToken("session revoked")
    try:
        account_id = uuid.UUID(principal.sub)
    except ValueError as exc:
        raise AccountNotFound() from exc  # machine clients have no profile
    account = await get_account(session, account_id)
    return MeRead(
        sub=str(account.id),
        kind=AccountKind(account.kind),
        roles=account.roles,
        acr=principal.acr,
        amr=list(principal.amr),
        cin=account.cin,
        phone=account.phone,
        email=account.email,
        language=account.language,  # type: ignore[arg-type]
        administration_id=account.administration_id,
    )
