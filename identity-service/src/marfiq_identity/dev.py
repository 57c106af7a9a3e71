"""Development and test helpers: real tokens for an account, without a sign-in flow.

Used by tests, benches and the embedded mode's tooling. Never mounted as an HTTP route.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi import FastAPI

from marfiq_identity.accounts.models import Account
from marfiq_identity.accounts.service import get_account
from marfiq_identity.keys.service import KeyRing
from marfiq_identity.settings import IdentitySettings
from marfiq_identity.tokens.schemas import TokenResponse
from marfiq_identity.tokens.service import start_session
from marfiq_shared.auth import Acr
from marfiq_shared.db import Database


async def issue_tokens_for(
    app: FastAPI,
    account: Account | uuid.UUID | str,
    *,
    acr: Acr = "low",
    amr: Sequence[str] = ("otp",),
    now: datetime | None = None,
) -> TokenResponse:
    """Open a session for `account` on a started identity app and return its tokens.

    The tokens are real: signed by the service's current key, with a stored session and a
    hashed refresh token, exactly as a sign-in would leave them.
    """
    database: Database = app.state.db
    keyring: KeyRing = app.state.keyring
    settings: IdentitySettings = app.state.settings
    account_id = account.id if isinstance(account, Account) else uuid.UUID(str(account))
    async with database.sessionmaker() as session, session.begin():
        loaded = await get_account(session, account_id)
        return await start_session(
            session,
            account=loaded,
            acr=acr,
            amr=amr,
            keyring=keyring,
            settings=settings,
            now=now or datetime.now(UTC),
        )
