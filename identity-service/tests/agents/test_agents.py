"""Agents: added by the platform administrator or a supervisor, signed in by code."""

from __future__ import annotations

import jwt
import pytest
from identity_support import Identity, bearer, create_administration

from marfiq_identity.dev import issue_tokens_for


async def _supervisor_token(identity: Identity, administration_id: str, email: str) -> str:
    added = await identity.client.post(
        f"/v1/administrations/{administration_id}/agents",
        json={"email": email, "role": "supervisor"},
        headers=bearer(await identity.admin_token()),
    )
    assert added.status_code == 201, added.text
    return (await issue_tokens_for(identity.app, added.json()["id"])).access_token


async def test_platform_admin_adds_a_supervisor_who_adds_an_agent(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    supervisor = await _supervisor_token(identity, cnss, "chef@cnss.ma")

    added = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "Agent@CNSS.ma", "phone": "0661300001", "role": "agent"},
        headers={**bearer(supervisor), "Idempotency-Key": "add-agent-0001"},
    )
    replay = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "Agent@CNSS.ma", "phone": "0661300001", "role": "agent"},
        headers={**bearer(supervisor), "Idempotency-Key": "add-agent-0001"},
    )

    assert added.status_code == 201
    agent = added.json()
    assert agent["email"] == "agent@cnss.ma"
    assert agent["phone"] == "+212661300001"
    assert agent["roles"] == ["agent"]
    assert agent["administration_id"] == cnss
    assert replay.json() == agent
    assert replay.headers["idempotent-replayed"] == "true"
    listed = await identity.client.get(
        f"/v1/administrations/{cnss}/agents", headers=bearer(supervisor)
    )
    assert {a["email"] for a in listed.json()} == {"chef@cnss.ma", "agent@cnss.ma"}
    # The agent signs in by code to the registered contact.
    tokens = await identity.sign_in("+212661300001")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == agent["id"]
    assert claims["roles"] == ["agent"]
    assert claims["adm"] == cnss


async def test_an_agent_cannot_add_agents(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    added = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "simple@cnss.ma"},
        headers=bearer(await identity.admin_token()),
    )
    agent = (await issue_tokens_for(identity.app, added.json()["id"])).access_token

    refused = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "other@cnss.ma"},
        headers=bearer(agent),
    )

    assert refused.status_code == 403


async def test_a_contact_already_used_is_a_conflict(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    await identity.sign_in("taken@example.ma")

    taken = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "taken@example.ma"},
        headers=bearer(await identity.admin_token()),
    )

    assert taken.status_code == 409
    assert taken.json()["type"].endswith("/contact-taken")


async def test_unknown_administration_is_not_found_for_the_platform_admin(
    identity: Identity,
) -> None:
    answer = await identity.client.post(
        "/v1/administrations/0b6c8d3e-6f51-5a7e-9d3c-4a1f2e8b7c60/agents",
        json={"email": "x@example.ma"},
        headers=bearer(await identity.admin_token()),
    )

    assert answer.status_code == 404


async def test_disabling_an_agent_ends_their_sessions(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.settings, "otp_resend_cooldown_s", 0)
    cnss = await create_administration(identity, "CNSS")
    added = await identity.client.post(
        f"/v1/administrations/{cnss}/agents",
        json={"email": "leaving@cnss.ma"},
        headers=bearer(await identity.admin_token()),
    )
    tokens = await identity.sign_in("leaving@cnss.ma")

    disabled = await identity.client.delete(
        f"/v1/administrations/{cnss}/agents/{added.json()['id']}",
        headers=bearer(await identity.admin_token()),
    )

    assert disabled.status_code == 204
    refresh = await identity.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 400
    again = await identity.request_code("leaving@cnss.ma")
    assert again.status_code == 202  # the same answer as for anyone
    code = await identity.code_for("leaving@cnss.ma", count=2)
    refused = await identity.verify(again.json()["challenge_id"], code)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/account-disabled")


async def test_bad_agent_input_is_refused(identity: Identity) -> None:
    cnss = await create_administration(identity, "CNSS")
    admin = bearer(await identity.admin_token())
    bad = [
        {"email": "not-an-email"},
        {"email": "a@b.ma", "phone": "12"},
        {"email": "a@b.ma", "role": "platform_admin"},
        {"email": "a" * 5000 + "@b.ma"},
        {},
    ]
    for body in bad:
        answer = await identity.client.post(
            f"/v1/administrations/{cnss}/agents", json=body, headers=admin
        )
        assert answer.status_code == 422, body
