"""A letter's journey, distributed mode, through the gateway, with real sign-ins.

A citizen files a letter with two attachments to administration A and gets its number and a
PAdES-signed receipt that verifies; an agent of A assigns it and forwards it to B; B
registers it with its own number; an agent of B answers with a signed PDF; the citizen is
told by SMS, downloads the answer, the public verification says valid, and a tampered copy
does not verify.
"""

from __future__ import annotations

import re
import uuid

import httpx
from harness import Platform
from test_complaints_e2e import wait_for_sms
from test_signin_e2e import bearer, sign_in_by_code

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


async def agent_of(client: httpx.AsyncClient, platform: Platform, administration: dict) -> dict:
    admin = {"authorization": f"Bearer {await platform.admin_token()}"}
    email = f"agent-{uuid.uuid4().hex[:6]}@{administration['code'].lower()}.gov.ma"
    added = await client.post(
        f"/v1/administrations/{administration['id']}/agents",
        json={"email": email, "role": "agent"},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    tokens = await sign_in_by_code(
        client, platform, channel="email", destination=email, inbox=email
    )
    headers = bearer(tokens)
    sub = (await client.get("/v1/me", headers=headers)).json()["sub"]
    return {"headers": headers, "sub": sub}


async def verdict(client: httpx.AsyncClient, code: str, pdf: bytes) -> dict:
    checked = await client.post(
        f"/v1/documents/{code}/verification",
        files={"file": ("copie.pdf", pdf, "application/pdf")},
    )
    assert checked.status_code == 200, checked.text
    return checked.json()


async def test_letter_filed_forwarded_answered_and_verified(distributed: Platform) -> None:
    async with httpx.AsyncClient(base_url=distributed.gateway, timeout=20) as client:
        directory = (await client.get("/v1/administrations", params={"limit": 100})).json()
        by_code = {item["code"]: item for item in directory["items"]}
        a, b = by_code["ANCFCC"], by_code["ONEE"]

        phone = "+212663000222"
        citizen = bearer(
            await sign_in_by_code(
                client, distributed, channel="sms", destination=phone, inbox=phone
            )
        )
        file_ids = []
        attachments = (("acte.pdf", PDF, "application/pdf"), ("plan.png", PNG, "image/png"))
        for name, content, kind in attachments:
            uploaded = await client.post(
                "/v1/files", files={"file": (name, content, kind)}, headers=citizen
            )
            assert uploaded.status_code == 201, uploaded.text
            file_ids.append(uploaded.json()["file_id"])

        filed = await client.post(
            "/v1/correspondence",
            json={
                "recipient_administration_id": a["id"],
                "subject": "Demande de rectification d'un titre foncier",
                "body": "Je sollicite la rectification de la contenance portée sur mon titre.",
                "file_ids": file_ids,
            },
            headers=citizen,
        )
        assert filed.status_code == 201, filed.text
        letter = filed.json()
        assert re.fullmatch(rf"{a['code']}-\d{{4}}-\d{{6}}", letter["registration_number"])
        receipt = await client.get(f"/v1/correspondence/{letter['id']}/receipt", headers=citizen)
        assert receipt.status_code == 200
        assert receipt.content.startswith(b"%PDF")
        checked = await verdict(client, letter["receipt_code"], receipt.content)
        assert checked["verdict"] == "valid"

        agent_a = await agent_of(client, distributed, a)
        assigned = await client.post(
            f"/v1/correspondence/{letter['id']}/assign",
            json={"department": "Conservation foncière", "assignee_id": agent_a["sub"]},
            headers=agent_a["headers"],
        )
        assert assigned.status_code == 200, assigned.text
        forwarded = await client.post(
            f"/v1/correspondence/{letter['id']}/forward",
            json={"administration_id": b["id"], "reason": "Relève de l'ONEE"},
            headers=agent_a["headers"],
        )
        assert forwarded.status_code == 200, forwarded.text
        at_b_id = forwarded.json()["forwarded_to_id"]

        agent_b = await agent_of(client, distributed, b)
        at_b = await client.get(f"/v1/correspondence/{at_b_id}", headers=agent_b["headers"])
        at_b = at_b.json()
        assert re.fullmatch(rf"{b['code']}-\d{{4}}-\d{{6}}", at_b["registration_number"])
        assert at_b["registration_number"] != letter["registration_number"]

        sms_before = len(distributed.sms.texts_to(phone))
        answered = await client.post(
            f"/v1/correspondence/{at_b_id}/answer",
            json={"text": "Votre demande est accordée.\nطلبكم مقبول.", "file_ids": []},
            headers=agent_b["headers"],
        )
        assert answered.status_code == 200, answered.text
        answer = answered.json()
        (answer_doc,) = [doc for doc in answer["documents"] if doc["kind"] == "answer"]
        await wait_for_sms(distributed, phone, sms_before + 1)

        mine = (await client.get(f"/v1/correspondence/{letter['id']}", headers=citizen)).json()
        assert [link["registration_number"] for link in mine["chain"]] == [
            letter["registration_number"],
            at_b["registration_number"],
        ]
        download = await client.get(answer_doc["download_url"], headers=citizen)
        assert download.status_code == 200
        code = answer["answer"]["verification_code"]
        public = (await client.get(f"/v1/documents/{code}")).json()
        assert public["status"] == "valid"
        assert (await verdict(client, code, download.content))["verdict"] == "valid"

        tampered = bytearray(download.content)
        tampered[download.content.index(b"stream", 200) + 40] ^= 0x01
        assert (await verdict(client, code, bytes(tampered)))["verdict"] != "valid"

        other = "+212663000999"
        stranger = bearer(
            await sign_in_by_code(
                client, distributed, channel="sms", destination=other, inbox=other
            )
        )
        hidden = await client.get(f"/v1/correspondence/{letter['id']}", headers=stranger)
        assert hidden.status_code == 404
