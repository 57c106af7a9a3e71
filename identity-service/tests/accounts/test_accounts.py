"""Accounts: the bootstrap administrator, /v1/me, contacts in canonical form."""

from __future__ import annotations

import pytest
from identity_support import ADMIN_EMAIL, Identity, bearer, make_settings, started
from sqlalchemy import text

from marfiq_identity.accounts.errors import InvalidContact
from marfiq_identity.accounts.models import AccountKind
from marfiq_identity.accounts.service import normalize_email, normalize_phone
from marfiq_identity.dev import issue_tokens_for


async def test_bootstrap_admin_is_created_once_over_restarts(identity: Identity) -> None:
    async with started(identity.settings), started(identity.settings):
        pass

    count = await identity.scalar(
        "SELECT count(*) FROM identity.accounts WHERE email = :email", email=ADMIN_EMAIL
    )
    kind = await identity.scalar(
        "SELECT kind FROM identity.accounts WHERE email = :email", email=ADMIN_EMAIL
    )
    assert count == 1
    assert kind == "platform_admin"


async def test_bootstrap_never_promotes_an_existing_citizen(database_url: str, clean: None) -> None:
    async with started(make_settings(database_url, bootstrap_admin_email=None)) as identity:
        await identity.account(kind=AccountKind.citizen, email="Someone@Example.ma ")
    settings = make_settings(database_url, bootstrap_admin_email="someone@example.ma")
    async with started(settings) as identity:
        kinds = await identity.scalar(
            "SELECT array_agg(kind) FROM identity.accounts WHERE email = 'someone@example.ma'"
        )
    assert kinds == ["citizen"]


async def test_me_returns_the_callers_profile(identity: Identity) -> None:
    response = await identity.client.get("/v1/me", headers=bearer(await identity.admin_token()))

    assert response.status_code == 200
    me = response.json()
    assert me["sub"] == await identity.admin_id()
    assert me["roles"] == ["platform_admin"]
    assert me["kind"] == "platform_admin"
    assert me["acr"] == "low"
    assert me["email"] == ADMIN_EMAIL
    assert me["language"] == "fr"
    assert me["phone"] is None
    assert me["cin"] is None
    assert me["administration_id"] is None


async def test_me_needs_a_token(identity: Identity) -> None:
    response = await identity.client.get("/v1/me")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_me_refuses_a_revoked_session(identity: Identity) -> None:
    citizen = await identity.account(kind=AccountKind.citizen, phone="+212612345678")
    tokens = await issue_tokens_for(identity.app, citizen)
    async with identity.database.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE identity.sessions SET revoked_at = now()"))

    response = await identity.client.get("/v1/me", headers=bearer(tokens.access_token))

    assert response.status_code == 401
    assert response.json()["type"].endswith("/invalid-token")


def test_contacts_are_stored_in_canonical_form() -> None:
    assert normalize_phone("06 12 34 56 78") == "+212612345678"
    assert normalize_phone("+33 6 12 34 56 78") == "+33612345678"
    assert normalize_email(" Fatima.Zahra@Example.MA ") == "fatima.zahra@example.ma"
    with pytest.raises(InvalidContact):
        normalize_phone("12")
    with pytest.raises(InvalidContact):
        normalize_email("not-an-address")
