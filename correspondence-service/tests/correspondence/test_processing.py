"""Processing: assign, forward (registered again with its own number), answer with a PDF
signed in the administration's name, verification of the answer and of a tampered copy."""

from __future__ import annotations

import hashlib
import re

from correspondence_support import PDF, PNG, Service, problem

from marfiq_shared.documents import verify_pdf


async def test_the_whole_journey_of_a_letter_forwarded_and_answered(service: Service) -> None:
    mef, mj = service.administrations[:2]
    citizen = service.citizen(cin="BE998877")
    files = [await service.file_id(citizen, PDF), await service.file_id(citizen, PNG, "p.png")]
    created = await service.send(citizen, mef, file_ids=files)
    agent_a, agent_b = service.agent(mef), service.agent(mj)

    assigned = await service.step(
        agent_a, created["id"], "assign", {"department": "Courrier", "assignee_id": agent_a.sub}
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "assigned"
    forwarded = await service.step(
        agent_a,
        created["id"],
        "forward",
        {"administration_id": str(mj.id), "reason": "Compétence du ministère de la Justice"},
    )
    assert forwarded.status_code == 200, forwarded.text
    assert forwarded.json()["status"] == "forwarded"
    new_id = forwarded.json()["forwarded_to_id"]

    # B registered it in its own register, with its own number and receipt.
    at_b = (await service.read(agent_b, new_id)).json()
    assert re.fullmatch(r"MJ-\d{4}-000001", at_b["registration_number"])
    assert at_b["status"] == "registered"
    assert at_b["forwarded_from_id"] == created["id"]
    assert [doc["sha256"] for doc in at_b["documents"] if doc["kind"] == "attachment"] == [
        hashlib.sha256(PDF).hexdigest(),
        hashlib.sha256(PNG).hexdigest(),
    ]
    receipt_b = await service.client.get(
        f"/v1/correspondence/{new_id}/receipt", headers=citizen.headers
    )
    assert verify_pdf(receipt_b.content, service.pki.trust_roots()).valid

    # B answers with a document signed in its own name.
    attachment = await service.file_id(agent_b, PDF, "decision.pdf")
    answered = await service.step(
        agent_b,
        new_id,
        "answer",
        {"text": "Votre demande est accordée.\nطلبكم مقبول.", "file_ids": [attachment]},
    )
    assert answered.status_code == 200, answered.text
    answer = answered.json()
    assert answer["status"] == "answered"
    (answer_doc,) = [doc for doc in answer["documents"] if doc["kind"] == "answer"]

    # The citizen was told, follows the chain, and downloads the answer.
    notices = await service.events("identity.notification.requested")
    assert sum(1 for n in notices if n["data"]["recipient_sub"] == citizen.sub) >= 3
    mine = (await service.read(citizen, created["id"])).json()
    assert [link["registration_number"] for link in mine["chain"]] == [
        created["registration_number"],
        at_b["registration_number"],
    ]
    assert all(link["accessible"] for link in mine["chain"])
    download = await service.client.get(answer_doc["download_url"], headers=citizen.headers)
    assert download.status_code == 200
    check = verify_pdf(download.content, service.pki.trust_roots())
    assert check.valid, check.problem
    assert check.signer is not None
    assert "Administration MJ" in check.signer

    # Public verification: valid; the copy checks out; a tampered copy does not.
    public = await service.client.get(f"/v1/documents/{answer['answer']['verification_code']}")
    assert public.json()["status"] == "valid"
    assert public.json()["kind"] == "answer"
    assert public.json()["sha256"] == hashlib.sha256(download.content).hexdigest()
    code = answer["answer"]["verification_code"]
    genuine = await service.client.post(
        f"/v1/documents/{code}/verification",
        files={"file": ("reponse.pdf", download.content, "application/pdf")},
    )
    assert genuine.status_code == 200, genuine.text
    assert genuine.json()["verdict"] == "valid"
    tampered = bytearray(download.content)
    position = download.content.index(b"stream", 200) + 40
    tampered[position] ^= 0x01
    altered = await service.client.post(
        f"/v1/documents/{code}/verification",
        files={"file": ("reponse.pdf", bytes(tampered), "application/pdf")},
    )
    assert altered.json()["verdict"] == "altered"
    assert altered.json()["matches_registry"] is False
    assert altered.json()["signature"]["intact"] is False

    # A keeps read access to what it held, and nothing more.
    held = await service.read(agent_a, created["id"])
    assert held.status_code == 200
    assert held.json()["status"] == "forwarded"
    problem(await service.read(agent_a, new_id), 404)
    assert [link["accessible"] for link in held.json()["chain"]] == [True, False]


async def test_illegal_steps_are_conflicts(service: Service) -> None:
    mef = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(mef)
    created = await service.send(citizen, mef)

    close_too_early = await service.step(agent, created["id"], "close", {})
    rejected = await service.step(agent, created["id"], "reject", {"reason": "Hors sujet"})
    answer_after = await service.step(agent, created["id"], "answer", {"text": "Trop tard"})
    closed = await service.step(agent, created["id"], "close", {})
    again = await service.step(agent, created["id"], "assign", {"department": "X"})

    problem(close_too_early, 409)
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "Hors sujet"
    problem(answer_after, 409)
    assert closed.json()["status"] == "closed"
    body = problem(again, 409)
    assert body["type"].endswith("correspondence-step-not-allowed")


async def test_the_sender_adds_the_documents_asked_for(service: Service) -> None:
    mef = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(mef)
    created = await service.send(citizen, mef)
    await service.step(agent, created["id"], "assign", {"department": "État civil"})

    asked = await service.step(
        agent, created["id"], "request-documents", {"message": "Copie de la CIN"}
    )
    early = await service.step(citizen, created["id"], "documents", {"file_ids": []})
    supplement = await service.file_id(citizen, PDF, "cin.pdf")
    added = await service.step(citizen, created["id"], "documents", {"file_ids": [supplement]})
    not_twice = await service.step(
        citizen, created["id"], "documents", {"file_ids": [await service.file_id(citizen)]}
    )
    agent_adds = await service.step(
        agent, created["id"], "documents", {"file_ids": [await service.file_id(agent)]}
    )

    assert asked.json()["status"] == "documents_requested"
    assert asked.json()["allowed_actions"] == ["forward", "answer", "reject", "note"]
    problem(early, 422)
    assert added.status_code == 200, added.text
    assert added.json()["status"] == "assigned"
    assert [doc["kind"] for doc in added.json()["documents"]] == ["receipt", "supplement"]
    problem(not_twice, 409)
    problem(agent_adds, 409)


async def test_the_same_file_cannot_go_with_two_letters(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()
    file_id = await service.file_id(citizen)
    await service.send(citizen, mef, file_ids=[file_id])

    second = await service.client.post(
        "/v1/correspondence",
        json={
            "recipient_administration_id": str(mef.id),
            "subject": "Encore",
            "file_ids": [file_id],
        },
        headers=citizen.headers,
    )

    body = problem(second, 422)
    assert body["unusable"] == [file_id]


async def test_a_partner_client_works_the_inbox_with_its_scopes(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()
    created = await service.send(citizen, mef)
    reader = service.client_of(mef, "correspondence:read")
    writer = service.client_of(mef, "correspondence:write")
    stranger = service.client_of(mef, "complaints:read")

    listed = await service.client.get("/v1/correspondence", headers=reader.headers)
    cannot_write = await service.step(reader, created["id"], "assign", {"department": "SI"})
    writes = await service.step(writer, created["id"], "assign", {"department": "SI"})
    no_scope = await service.client.get("/v1/correspondence", headers=stranger.headers)

    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    problem(cannot_write, 403)
    assert writes.json()["status"] == "assigned"
    problem(no_scope, 403)


async def test_an_issuer_revokes_a_document_and_verification_says_so(service: Service) -> None:
    mef = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(mef)
    created = await service.send(citizen, mef)
    answered = (await service.step(agent, created["id"], "answer", {"text": "Accordé"})).json()
    code = answered["answer"]["verification_code"]

    other = await service.client.post(
        f"/v1/documents/{code}/revoke",
        json={"reason": "x"},
        headers=service.agent(service.administrations[1]).headers,
    )
    revoked = await service.client.post(
        f"/v1/documents/{code}/revoke",
        json={"reason": "Erreur de destinataire"},
        headers=agent.headers,
    )
    public = await service.client.get(f"/v1/documents/{code}")

    problem(other, 404)
    assert revoked.status_code == 200, revoked.text
    assert public.json()["status"] == "revoked"
    assert public.json()["revocation_reason"] == "Erreur de destinataire"
    problem(await service.client.get("/v1/documents/AAAA-BBBB-CCCC"), 404)
    problem(await service.client.get("/v1/documents/not-a-code"), 404)
