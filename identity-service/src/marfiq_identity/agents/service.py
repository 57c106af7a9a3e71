"""Adding, listing and disabling the agents of an administration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.accounts import repository as accounts
from marfiq_identity.accounts.errors import ContactTaken
from marfiq_identity.accounts.models import Account, AccountKind
from marfiq_identity.accounts.service import create_account, normalize_email, normalize_phone
from marfiq_identity.agents import repository
from marfiq_identity.agents.errors import AgentNotFound
from marfiq_identity.agents.schemas import AgentCreate, AgentRead
from marfiq_identity.otp.repository import lock_key
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.tokens.service import revoke_sessions_of


def _read(account: Account) -> AgentRead:
    assert account.administration_id is not None
    return AgentRead(
        id=account.id,
        administration_id=account.administration_id,
        email=account.email,
        phone=account.phone,
        roles=account.roles,
        language=account.language,  # type: ignore[arg-type]
        created_at=account.created_at,
        disabled_at=account.disabled_at,
    )


async def add_agent(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    data: AgentCreate,
    now: datetime | None = None,
) -> AgentRead:
    """Create an agent account; they sign in by code to the e-mail (or phone) given."""
    email = normalize_email(data.email)
    phone = normalize_phone(data.phone) if data.phone is not None else None
    for contact in filter(None, (email, phone)):
        await lock_key(session, f"contact:{contact}")
        if await accounts.get_by_contact(session, contact) is not None:
            raise ContactTaken()
    roles = ["agent", "supervisor"] if data.role == "supervisor" else ["agent"]
    account = await create_account(
        session,
        kind=AccountKind.agent,
        email=email,
        phone=phone,
        language=data.language,
        administration_id=administration_id,
        roles=roles,
        now=now,
    )
    return _read(account)


async def list_agents(session: AsyncSession, *, administration_id: uuid.UUID) -> list[AgentRead]:
    """The administration's agents, disabled ones included."""
    return [
        _read(account) for account in await repository.of_administration(session, administration_id)
    ]


async def disable_agent(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    agent_id: uuid.UUID,
    settings: IdentitySettings,
    now: datetime | None = None,
) -> None:
    """Disable an agent and end their sessions at once (idempotent)."""
    now = now or datetime.now(UTC)
    account = await accounts.get_for_update(session, agent_id)
    if (
        account is None
        or account.kind != AccountKind.agent.value
        or account.administration_id != administration_id
    ):
        raise AgentNotFound()
    if account.disabled_at is None:
        account.disabled_at = now
        account.updated_at = now
    await revoke_sessions_of(
        session, account_id=account.id, reason="account_disabled", settings=settings, now=now
    )
