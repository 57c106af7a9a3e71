"""Filing: a letter is registered with a number of the recipient's register and a signed
receipt that names its attachments by their SHA-256."""

from __future__ import annotations

import hashlib
import io
import re

from correspondence_support import PDF, PNG, Service
from pyhanko.pdf_utils.reader import PdfFileReader

from marfiq_shared.documents import verify_pdf


async def test_a_citizen_files_a_letter_with_two_attachments_and_gets_a_signed_receipt(
    service: Service,
) -> None:
    mef = service.administrations[0]
    citizen = service.citizen(cin="AB123456")
    scan = await service.file_id(citizen, PDF, "demande.pdf")
    photo = await service.file_id(citizen, PNG, "cin.png")

    created = await service.send(
        citizen, mef, file_ids=[scan, photo], sender_name="Amina El Idrissi"
    )

    assert re.fullmatch(r"MEF-\d{4}-000001", created["registration_number"])
    assert created["status"] == "registered"
    receipt = await service.client.get(created["receipt_url"], headers=citizen.headers)
    assert receipt.status_code == 200, receipt.text
    assert receipt.headers["content-type"] == "application/pdf"
    check = verify_pdf(receipt.content, service.pki.trust_roots())
    assert check.valid, check.problem
    assert check.signer is not None
    assert "Bureau d'ordre" in check.signer
    # The receipt names the letter and vouches for each attachment by its hash.
    subject = PdfFileReader(io.BytesIO(receipt.content)).trailer["/Info"]["/Subject"]
    assert created["receipt_code"] in subject
    detail = (await service.read(citizen, created["id"])).json()
    attachments = [doc for doc in detail["documents"] if doc["kind"] == "attachment"]
    assert [doc["sha256"] for doc in attachments] == [
        hashlib.sha256(PDF).hexdigest(),
        hashlib.sha256(PNG).hexdigest(),
    ]
    (receipt_doc,) = [doc for doc in detail["documents"] if doc["kind"] == "receipt"]
    assert receipt_doc["sha256"] == hashlib.sha256(receipt.content).hexdigest()
    assert detail["sender"] == {
        "kind": "citizen",
        "name": "Amina El Idrissi",
        "cin": "AB123456",
        "company_ice": None,
        "company_name": None,
        "administration_id": None,
    }
    assert [entry["action"] for entry in detail["timeline"]] == ["register"]


async def test_the_receipt_is_verifiable_by_anyone_with_its_code(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()
    created = await service.send(citizen, mef)
    receipt = await service.client.get(created["receipt_url"], headers=citizen.headers)

    public = await service.client.get(f"/v1/documents/{created['receipt_code']}")

    assert public.status_code == 200, public.text
    body = public.json()
    assert body["status"] == "valid"
    assert body["kind"] == "receipt"
    assert body["reference"] == created["registration_number"]
    assert body["issuer"]["name_fr"] == "Administration MEF"
    assert body["sha256"] == hashlib.sha256(receipt.content).hexdigest()
    # The code may be typed from paper: lower case, spaces, O for 0.
    typed = created["receipt_code"].lower().replace("-", " ")
    assert (await service.client.get(f"/v1/documents/{typed}")).status_code == 200


async def test_receipts_are_drawn_once_however_many_ask_at_the_same_time(
    service: Service,
) -> None:
    import asyncio

    mef = service.administrations[0]
    citizen = service.citizen()
    created = await service.send(citizen, mef)

    answers = await asyncio.gather(
        *(service.client.get(created["receipt_url"], headers=citizen.headers) for _ in range(5))
    )

    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    # Requests that drew it at the same time removed their copies: one stays, the one served.
    receipts = [path for path in service.stored_files() if path.parent.name == "documents"]
    assert [path.read_bytes() for path in receipts] == [answers[0].content]


async def test_the_sender_is_told_and_partners_hear_of_it(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()

    created = await service.send(citizen, mef)

    (registered,) = await service.events("correspondence.correspondence.registered")
    assert registered["data"]["registration_number"] == created["registration_number"]
    assert registered["data"]["receipt_code"] == created["receipt_code"]
    (notice,) = await service.events("identity.notification.requested")
    assert notice["data"]["recipient_sub"] == citizen.sub
    assert notice["data"]["kind"] == "correspondence.status_changed"


async def test_a_company_representative_writes_for_the_company_by_its_ice(
    service: Service,
) -> None:
    mj = service.administrations[1]
    representative = service.citizen()

    created = await service.send(
        representative, mj, company={"ice": "001234567000089", "name": "Atlas Export SARL"}
    )

    detail = (await service.read(representative, created["id"])).json()
    assert detail["sender"]["kind"] == "company"
    assert detail["sender"]["company_ice"] == "001234567000089"


async def test_an_agent_writes_for_the_administration_in_both_registers(
    service: Service,
) -> None:
    mef, mj = service.administrations[:2]
    agent = service.agent(mef)
    other = service.agent(mef)

    created = await service.send(agent, mj, subject="Demande d'avis juridique")

    assert re.fullmatch(r"MEF-\d{4}-D-000001", created["outgoing_number"])
    assert re.fullmatch(r"MJ-\d{4}-000001", created["registration_number"])
    outbox = await service.client.get("/v1/correspondence?direction=out", headers=other.headers)
    assert [item["id"] for item in outbox.json()["items"]] == [created["id"]]
    inbox = await service.client.get(
        "/v1/correspondence?direction=in", headers=service.agent(mj).headers
    )
    assert [item["registration_number"] for item in inbox.json()["items"]] == [
        created["registration_number"]
    ]
    assert inbox.json()["items"][0]["direction"] == "in"
    assert outbox.json()["items"][0]["direction"] == "out"


async def test_a_replayed_filing_returns_the_first_answer(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()
    body = {"recipient_administration_id": str(mef.id), "subject": "Objet", "body": "Texte"}
    headers = citizen.headers | {"Idempotency-Key": "letter-0001"}

    first = await service.client.post("/v1/correspondence", json=body, headers=headers)
    second = await service.client.post("/v1/correspondence", json=body, headers=headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await service.scalar("SELECT count(*) FROM correspondence.correspondence") == 1
