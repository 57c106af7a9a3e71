"""A complaint's whole life, distributed mode, through the gateway, with real sign-ins.

A citizen signs in by SMS code and files a complaint; an agent of that administration
(added by the platform admin, signed in by e-mail code) acknowledges, assigns and answers;
the citizen is told by SMS, reopens, gets a second answer and rates it; the public
statistics count it.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from harness import Platform
from test_signin_e2e import bearer, sign_in_by_code


async def wait_for_sms(platform: Platform, number: str, count: int, within_s: float = 5.0) -> list:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        texts = platform.sms.texts_to(number)
        if len(texts) >= count:
            return texts
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} received {len(platform.sms.texts_to(number))} SMS, not {count}")


async def test_complaint_lifecycle_through_the_gateway(distributed: Platform) -> None:
    admin = {"authorization": f"Bearer {await distributed.admin_token()}"}
    async with httpx.AsyncClient(base_url=distributed.gateway, timeout=10) as client:
        anapec = (await client.get("/v1/administrations", params={"q": "ANAPEC"})).json()
        administration_id = anapec["items"][0]["id"]

        agent_email = f"agent-{uuid.uuid4().hex[:6]}@anapec.ma"
        added = await client.post(
            f"/v1/administrations/{administration_id}/agents",
            json={"email": agent_email, "role": "agent"},
            headers=admin,
        )
        assert added.status_code == 201, added.text
        agent = bearer(
            await sign_in_by_code(
                client, distributed, channel="email", destination=agent_email, inbox=agent_email
            )
        )
        agent_sub = (await client.get("/v1/me", headers=agent)).json()["sub"]

        phone = "+212662000111"
        citizen = bearer(
            await sign_in_by_code(
                client, distributed, channel="sms", destination=phone, inbox=phone
            )
        )
        sms_before = len(distributed.sms.texts_to(phone))

        filed = await client.post(
            "/v1/complaints",
            json={
                "administration_id": administration_id,
                "kind": "complaint",
                "subject": "Inscription non prise en compte",
                "description": "Mon inscription du mois dernier n'apparaît pas dans mon espace.",
            },
            headers=citizen,
        )
        assert filed.status_code == 201, filed.text
        complaint = filed.json()
        assert complaint["status"] == "submitted"
        path = f"/v1/complaints/{complaint['id']}"

        queue = await client.get("/v1/complaints", headers=agent)
        assert complaint["id"] in [item["id"] for item in queue.json()["items"]]

        async def step(action: str, who: dict[str, str], body: dict | None = None) -> dict:
            response = await client.post(f"{path}/{action}", json=body or {}, headers=who)
            assert response.status_code == 200, f"{action}: {response.text}"
            return response.json()

        await step("acknowledge", agent)
        await step("assign", agent, {"assignee_id": agent_sub})
        await step("answer", agent, {"answer": "Votre inscription a été rétablie."})
        texts = await wait_for_sms(distributed, phone, sms_before + 2)
        assert any(complaint["tracking_number"] in text for text in texts[sms_before:])

        illegal = await client.post(f"{path}/acknowledge", json={}, headers=agent)
        assert illegal.status_code == 409
        assert illegal.headers["content-type"].startswith("application/problem+json")

        await step("reopen", citizen, {"reason": "Elle n'apparaît toujours pas."})
        await step("answer", agent, {"answer": "Corrigé pour de bon, vérifiez à nouveau."})
        rated = await step("rating", citizen, {"rating": 4, "comment": "Merci."})
        assert rated["status"] in ("rated", "closed")

        detail = (await client.get(path, headers=citizen)).json()
        actions = [entry["action"] for entry in detail["timeline"]]
        assert actions.count("answer") == 2
        assert "reopen" in actions

        stats = await client.get(
            "/v1/complaints/stats", params={"administration_id": administration_id}
        )
        assert stats.status_code == 200
        row = stats.json()["items"][0]
        assert row["received"] >= 1
        assert row["answered"] >= 1
        assert row["ratings"] >= 1
