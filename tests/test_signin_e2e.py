"""Sign-in end to end, distributed mode, through the gateway: SMS code, e-mail code, eID
with a simulated chip, refresh, logout (the gateway refuses the old token within 2 s), and a
partner's client-credentials sign-in. Codes are read where a person reads them: in what the
local SMS provider and SMTP server received.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import httpx
from delivery_standins import wait_for_code
from harness import Platform

from marfiq_identity.eid.testing import td1_mrz


async def sign_in_by_code(
    client: httpx.AsyncClient, platform: Platform, *, channel: str, destination: str, inbox: str
) -> dict:
    asked = await client.post("/v1/auth/otp", json={"channel": channel, "destination": destination})
    assert asked.status_code == 202, asked.text
    standin = platform.sms if channel == "sms" else platform.mail
    code = await asyncio.to_thread(wait_for_code, lambda: standin.texts_to(inbox))
    verified = await client.post(
        "/v1/auth/otp/verify", json={"challenge_id": asked.json()["challenge_id"], "code": code}
    )
    assert verified.status_code == 200, verified.text
    tokens = verified.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["acr"] == "low"
    return tokens


def bearer(tokens: dict) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


async def test_sms_and_email_sign_in_then_refresh_and_logout(distributed: Platform) -> None:
    async with httpx.AsyncClient(base_url=distributed.gateway, timeout=10) as client:
        by_sms = await sign_in_by_code(
            client, distributed, channel="sms", destination="06 61 23 45 67", inbox="+212661234567"
        )
        me = await client.get("/v1/me", headers=bearer(by_sms))
        assert me.status_code == 200
        assert me.json()["phone"] == "+212661234567"
        assert "citizen" in me.json()["roles"]

        email = f"citoyen-{uuid.uuid4().hex[:6]}@example.ma"
        by_mail = await sign_in_by_code(
            client, distributed, channel="email", destination=email, inbox=email
        )
        me = await client.get("/v1/me", headers=bearer(by_mail))
        assert me.json()["email"] == email

        refreshed = await client.post(
            "/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": by_sms["refresh_token"]},
        )
        assert refreshed.status_code == 200, refreshed.text
        new = refreshed.json()
        assert new["refresh_token"] != by_sms["refresh_token"]
        assert (await client.get("/v1/me", headers=bearer(new))).status_code == 200

        logged_out = await client.post("/v1/auth/logout", json={}, headers=bearer(new))
        assert logged_out.status_code == 204
        started = time.monotonic()
        status = 200
        while time.monotonic() - started < 2.0:
            status = (await client.get("/v1/me", headers=bearer(new))).status_code
            if status == 401:
                break
            await asyncio.sleep(0.05)
        assert status == 401, "the gateway still accepted a logged-out session after 2 s"
        # The refresh token died with the session.
        again = await client.post(
            "/v1/auth/token",
            data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
        )
        assert again.status_code in (400, 401)


async def test_eid_sign_in_with_a_simulated_chip(distributed: Platform) -> None:
    signer = distributed.csca.document_signer()
    chip = signer.issue(aa_key_type="ec-p256", mrz=td1_mrz(cin="BK765432"))
    async with httpx.AsyncClient(base_url=distributed.gateway, timeout=10) as client:
        challenge = await client.post("/v1/auth/eid/challenge", json={})
        assert challenge.status_code == 201, challenge.text
        nonce = base64.b64decode(challenge.json()["nonce"])
        assert len(nonce) == 8

        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode()

        answer = {
            "challenge_id": challenge.json()["challenge_id"],
            "sod": b64(chip.sod),
            "dg1": b64(chip.dg1),
            "dg15": b64(chip.dg15),
            "signature": b64(chip.sign(nonce)),
        }
        verified = await client.post("/v1/auth/eid/verify", json=answer)
        assert verified.status_code == 200, verified.text
        assert verified.json()["acr"] == "high"
        me = (await client.get("/v1/me", headers=bearer(verified.json()))).json()
        assert me["cin"] == "BK765432"
        assert me["acr"] == "high"

        replayed = await client.post("/v1/auth/eid/verify", json=answer)
        assert replayed.status_code == 401
        assert replayed.headers["content-type"].startswith("application/problem+json")


async def test_partner_signs_in_with_client_credentials(distributed: Platform) -> None:
    admin = await distributed.admin_token()
    async with httpx.AsyncClient(base_url=distributed.gateway, timeout=10) as client:
        cnss = (await client.get("/v1/administrations", params={"q": "CNSS"})).json()["items"][0]
        created = await client.post(
            f"/v1/administrations/{cnss['id']}/clients",
            json={"name": "Système de gestion des réclamations", "scopes": ["complaints:read"]},
            headers={"authorization": f"Bearer {admin}"},
        )
        assert created.status_code == 201, created.text
        client_id, secret = created.json()["client_id"], created.json()["client_secret"]

        token = await client.post(
            "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        assert token.status_code == 200, token.text
        queue = await client.get("/v1/complaints", headers=bearer(token.json()))
        assert queue.status_code == 200, queue.text
        assert queue.json()["items"] == []

        wrong = await client.post(
            "/v1/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "x" * 40)
        )
        assert wrong.status_code in (400, 401)
