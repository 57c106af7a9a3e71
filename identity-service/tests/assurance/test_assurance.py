"""Assurance: authoritative contacts and in-person checks prove a CIN at substantial."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from identity_support import Identity, bearer, create_administration, eventually, publish

from marfiq_identity.accounts.models import AccountKind
from marfiq_identity.dev import issue_tokens_for
from marfiq_shared.events.catalogue import AffiliateContactRegistered


def claims(tokens: dict) -> dict:  # type: ignore[type-arg]
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})  # type: ignore[no-any-return]


async def _registered(identity: Identity, phone: str) -> None:
    async def present() -> bool:
        return bool(
            await identity.scalar(
                "SELECT count(*) FROM identity.authoritative_contacts WHERE contact = :c", c=phone
            )
        )

    await eventually(present)


async def test_a_code_to_the_phone_the_fund_holds_proves_the_cin(identity: Identity) -> None:
    await publish(identity, AffiliateContactRegistered(cin="bk300001", phone="0661700001"))
    await _registered(identity, "+212661700001")

    tokens = await identity.sign_in("+212661700001")

    assert tokens["acr"] == "substantial"
    assert claims(tokens)["cin"] == "BK300001"
    assert claims(tokens)["acr"] == "substantial"


async def test_an_existing_account_gets_the_cin_at_its_next_sign_in(identity: Identity) -> None:
    low = await identity.sign_in("+212661700002")
    assert low["acr"] == "low"
    await publish(identity, AffiliateContactRegistered(cin="BK300002", phone="+212661700002"))
    await _registered(identity, "+212661700002")
    identity.settings.otp_resend_cooldown_s = 0

    proven = await identity.sign_in("+212661700002")

    assert proven["acr"] == "substantial"
    assert claims(proven)["sub"] == claims(low)["sub"]
    assert claims(proven)["cin"] == "BK300002"


async def test_an_older_registration_never_overwrites_a_newer_one(identity: Identity) -> None:
    from marfiq_identity.assurance.repository import register_contact

    now = datetime.now(UTC)
    async with identity.database.sessionmaker() as session, session.begin():
        await register_contact(
            session, contact="+212661700003", cin="BK300003", source="pensions", registered_at=now
        )
        await register_contact(
            session,
            contact="+212661700003",
            cin="BK399999",
            source="pensions",
            registered_at=now - timedelta(days=1),
        )

    held = await identity.scalar(
        "SELECT cin FROM identity.authoritative_contacts WHERE contact = '+212661700003'"
    )
    assert held == "BK300003"


async def test_an_agent_checks_identity_in_person(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    agent = await identity.account(
        kind=AccountKind.agent, email="guichet@cnss.ma", administration_id=cnss, roles=["agent"]
    )
    agent_token = (await issue_tokens_for(identity.app, agent)).access_token
    citizen = await identity.sign_in("+212661700004")

    checked = await identity.client.post(
        f"/v1/administrations/{cnss}/identity-checks",
        json={"contact": "0661700004", "cin": "bk300004", "document_type": "cin_card"},
        headers=bearer(agent_token),
    )

    assert checked.status_code == 201, checked.text
    assert checked.json()["cin"] == "BK300004"
    assert checked.json()["account_id"] == claims(citizen)["sub"]
    identity.settings.otp_resend_cooldown_s = 0
    again = await identity.sign_in("+212661700004")
    assert again["acr"] == "substantial"
    assert claims(again)["cin"] == "BK300004"


async def test_only_agents_of_that_administration_record_checks(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    cmr = await create_administration(identity, "CMR")
    agent = await identity.account(
        kind=AccountKind.agent, email="guichet@cmr.ma", administration_id=cmr, roles=["agent"]
    )
    other = (await issue_tokens_for(identity.app, agent)).access_token
    citizen = await identity.sign_in("+212661700005")
    body = {"contact": "+212661700005", "cin": "BK300005"}

    foreign = await identity.client.post(
        f"/v1/administrations/{cnss}/identity-checks", json=body, headers=bearer(other)
    )
    own = await identity.client.post(
        f"/v1/administrations/{cnss}/identity-checks",
        json=body,
        headers=bearer(citizen["access_token"]),
    )

    assert foreign.status_code == 403
    assert own.status_code == 403


async def test_a_registry_conflicting_with_a_proven_cin_proves_nothing(
    identity: Identity,
) -> None:
    await identity.account(kind=AccountKind.citizen, phone="+212661700006", cin="BK300006")
    await publish(identity, AffiliateContactRegistered(cin="BK366666", phone="+212661700006"))
    await _registered(identity, "+212661700006")

    tokens = await identity.sign_in("+212661700006")

    assert tokens["acr"] == "low"
