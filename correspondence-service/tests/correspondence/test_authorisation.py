"""Authorisation: a sender sees only their own, an administration only what it holds, held
or sent; anything else is 404 without telling whether it exists. Internal notes never
reach the sender."""

from __future__ import annotations

import json

from correspondence_support import Service, problem


async def test_every_route_is_404_for_someone_else(service: Service) -> None:
    mef, mj = service.administrations[:2]
    owner, stranger = service.citizen(), service.citizen()
    other_agent = service.agent(mj)
    created = await service.send(owner, mef)
    base = f"/v1/correspondence/{created['id']}"
    detail = (await service.read(service.agent(mef), created["id"])).json()
    document = detail["documents"][0]["download_url"]

    for person in (stranger, other_agent):
        problem(await service.client.get(base, headers=person.headers), 404)
        problem(await service.client.get(f"{base}/receipt", headers=person.headers), 404)
        problem(await service.client.get(document, headers=person.headers), 404)
        for action, body in (
            ("assign", {"department": "X"}),
            ("request-documents", {"message": "X"}),
            ("documents", {"file_ids": [await service.file_id(person)]}),
            ("forward", {"administration_id": str(mj.id), "reason": "X"}),
            ("answer", {"text": "X"}),
            ("reject", {"reason": "X"}),
            ("close", {}),
            ("notes", {"text": "X"}),
        ):
            problem(await service.step(person, created["id"], action, body), 404)
        listed = await service.client.get("/v1/correspondence", headers=person.headers)
        assert listed.json()["items"] == []
    missing = "00000000-0000-4000-8000-000000000000"
    unknown = problem(await service.read(owner, missing), 404)
    hidden = problem(await service.read(stranger, created["id"]), 404)
    assert unknown["type"] == hidden["type"]
    assert unknown["title"] == hidden["title"]


async def test_the_sender_cannot_take_the_administration_s_steps(service: Service) -> None:
    mef = service.administrations[0]
    owner = service.citizen()
    created = await service.send(owner, mef)

    for action, body in (("assign", {"department": "X"}), ("answer", {"text": "Moi-même"})):
        problem(await service.step(owner, created["id"], action, body), 409)


async def test_internal_notes_never_reach_the_sender(service: Service) -> None:
    mef, mj = service.administrations[:2]
    owner, agent = service.citizen(), service.agent(mef)
    created = await service.send(owner, mef)
    secret = "Dossier sensible : vérifier les antécédents"

    noted = await service.step(agent, created["id"], "notes", {"text": secret})
    await service.step(
        agent, created["id"], "assign", {"department": "Contentieux", "assignee_id": agent.sub}
    )
    forwarded = await service.step(
        agent, created["id"], "forward", {"administration_id": str(mj.id), "reason": "Compétence"}
    )
    new_id = forwarded.json()["forwarded_to_id"]

    assert noted.status_code == 201
    assert any(entry["message"] == secret for entry in noted.json()["timeline"])
    for correspondence_id in (created["id"], new_id):
        seen = await service.read(owner, correspondence_id)
        assert seen.status_code == 200
        text = seen.text
        assert secret not in text
        assert "Contentieux" not in text
        assert agent.sub not in text
        assert all(not entry["internal"] for entry in seen.json()["timeline"])
    # Nor do B's agents read A's internal notes.
    assert secret not in (await service.read(service.agent(mj), new_id)).text
    # Nor any event (events reach partners' webhooks and notifications).
    assert secret not in json.dumps(await service.events())


async def test_an_administration_sees_its_outgoing_mail_but_not_the_recipient_s_notes(
    service: Service,
) -> None:
    mef, mj = service.administrations[:2]
    sender_agent, recipient_agent = service.agent(mef), service.agent(mj)
    created = await service.send(sender_agent, mj)
    await service.step(recipient_agent, created["id"], "notes", {"text": "Note interne MJ"})

    seen = await service.read(service.agent(mef), created["id"])

    assert seen.status_code == 200
    assert "Note interne MJ" not in seen.text
    problem(await service.step(sender_agent, created["id"], "assign", {"department": "X"}), 409)
