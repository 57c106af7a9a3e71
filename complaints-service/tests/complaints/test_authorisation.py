"""Nobody but the owner and the holding administration learns a complaint exists."""

from __future__ import annotations

import uuid

import pytest
from complaints_support import Person, Service, problem

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"

STEPS = {
    "acknowledge": None,
    "assign": {"assignee_id": "someone"},
    "answer": {"answer": "Réponse"},
    "redirect": {"target_administration_id": str(uuid.uuid4()), "reason": "x"},
    "reject": {"reason": "x"},
    "extend": {"reason": "x"},
    "reopen": {"reason": "x"},
    "close": None,
    "rating": {"rating": 5},
}


async def every_route(service: Service, person: Person, complaint_id: str) -> list[int]:
    """The status of every complaint route for `person` on `complaint_id`."""
    client = service.client
    statuses = [(await client.get(f"/v1/complaints/{complaint_id}", headers=person.headers))]
    for action, body in STEPS.items():
        statuses.append(await service.step(person, complaint_id, action, body))
    statuses.append(
        await client.post(
            f"/v1/complaints/{complaint_id}/attachments",
            files={"file": ("scan.pdf", PDF, "application/pdf")},
            headers=person.headers,
        )
    )
    statuses.append(
        await client.get(
            f"/v1/complaints/{complaint_id}/attachments/{uuid.uuid4()}", headers=person.headers
        )
    )
    for response in statuses:
        if response.status_code == 404:
            assert problem(response, 404)["type"].endswith("/complaint-not-found")
    return [response.status_code for response in statuses]


@pytest.mark.parametrize("who", ["another citizen", "an agent of another administration"])
async def test_someone_elses_complaint_is_404_on_every_route(service: Service, who: str) -> None:
    first, second = service.administrations
    owner = service.citizen()
    created = await service.file(owner, first)
    stranger = service.citizen() if who == "another citizen" else service.agent(second)

    statuses = await every_route(service, stranger, created["id"])

    assert statuses == [404] * len(statuses)
    listed = await service.client.get("/v1/complaints", headers=stranger.headers)
    assert listed.json()["items"] == []
    assert await service.scalar("SELECT version FROM complaints.complaints") == 1
    assert await service.scalar("SELECT count(*) FROM complaints.attachments") == 0


async def test_an_unknown_complaint_answers_exactly_like_someone_elses(service: Service) -> None:
    agent = service.agent(service.administrations[0])

    statuses = await every_route(service, agent, str(uuid.uuid4()))

    assert statuses == [404] * len(statuses)


async def test_partner_clients_act_for_their_administration_with_the_right_scope(
    service: Service,
) -> None:
    first, second = service.administrations
    created = await service.file(service.citizen(), first)
    reader = service.client_of(first, "complaints:read")
    writer = service.client_of(first, "complaints:write")
    other = service.client_of(second, "complaints:read complaints:write")
    unscoped = service.client_of(first, "pensions:declare")

    read = await service.client.get(f"/v1/complaints/{created['id']}", headers=reader.headers)
    assert read.status_code == 200
    assert problem(await service.step(reader, created["id"], "acknowledge"), 403)
    assert (await service.step(writer, created["id"], "acknowledge")).status_code == 200
    assert problem(await service.step(other, created["id"], "answer", {"answer": "x"}), 404)
    listed = await service.client.get("/v1/complaints", headers=unscoped.headers)
    assert problem(listed, 403)["required_scope"] == "complaints:read"


async def test_tokens_are_required_except_for_statistics(service: Service) -> None:
    assert problem(await service.client.get("/v1/complaints"), 401)
    bad = {"Authorization": "Bearer not.a.token"}
    assert problem(await service.client.get("/v1/complaints", headers=bad), 401)
    assert (await service.client.get("/v1/complaints/stats")).status_code == 200


async def test_only_citizens_file_complaints(service: Service) -> None:
    agent = service.agent(service.administrations[0])
    body = {
        "administration_id": str(service.administrations[0].id),
        "kind": "complaint",
        "subject": "Sujet",
        "description": "Texte",
    }

    refused = await service.client.post("/v1/complaints", json=body, headers=agent.headers)

    problem(refused, 403)
