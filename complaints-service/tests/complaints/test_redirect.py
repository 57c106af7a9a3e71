"""A redirect moves the complaint, its access and its deadlines; both sides keep the link."""

from __future__ import annotations

from complaints_support import Service, problem


async def test_redirect_moves_queue_access_and_deadlines(service: Service) -> None:
    first, second = service.administrations
    citizen = service.citizen()
    first_agent, second_agent = service.agent(first), service.agent(second)
    created = await service.file(citizen, first)
    complaint_id = created["id"]
    assert (await service.step(first_agent, complaint_id, "acknowledge")).status_code == 200

    service.clock.advance(days=10)
    redirected = await service.step(
        first_agent,
        complaint_id,
        "redirect",
        {"target_administration_id": str(second.id), "reason": "Relève de la commune"},
    )
    assert redirected.status_code == 200, redirected.text
    body = redirected.json()
    assert body["status"] == "redirected"
    assert body["administration_id"] == str(second.id)
    # Fresh deadlines from the redirect (Thursday 11 Sep 2025): 15 and 60 calendar days.
    assert body["due_ack_at"] == "2025-09-26T22:59:59Z"
    assert body["due_answer_at"] == "2025-11-10T22:59:59Z"

    lost = await service.client.get(f"/v1/complaints/{complaint_id}", headers=first_agent.headers)
    assert problem(lost, 404)["type"].endswith("/complaint-not-found")
    queue_first = await service.client.get("/v1/complaints", headers=first_agent.headers)
    assert queue_first.json()["items"] == []
    queue_second = await service.client.get("/v1/complaints", headers=second_agent.headers)
    assert [item["id"] for item in queue_second.json()["items"]] == [complaint_id]
    again = await service.step(first_agent, complaint_id, "acknowledge")
    problem(again, 404)

    # The new holder takes it from the start; the citizen still follows it.
    assert (await service.step(second_agent, complaint_id, "acknowledge")).status_code == 200
    owner_view = await service.client.get(f"/v1/complaints/{complaint_id}", headers=citizen.headers)
    assert owner_view.json()["administration_id"] == str(second.id)
    (link,) = owner_view.json()["redirections"]
    assert link["from_administration_id"] == str(first.id)
    assert link["to_administration_id"] == str(second.id)

    sent = await service.client.get(
        "/v1/complaints/redirections", params={"direction": "out"}, headers=first_agent.headers
    )
    received = await service.client.get(
        "/v1/complaints/redirections", params={"direction": "in"}, headers=second_agent.headers
    )
    assert [item["tracking_number"] for item in sent.json()["items"]] == [
        created["tracking_number"]
    ]
    assert [item["complaint_id"] for item in received.json()["items"]] == [complaint_id]
    assert sent.json()["items"][0]["reason"] == "Relève de la commune"

    (event,) = await service.events("complaints.complaint.redirected")
    assert event["data"]["from_administration_id"] == str(first.id)
    assert event["data"]["administration_id"] == str(second.id)
    stats = await service.client.get("/v1/complaints/stats", params={"from": "2025-09"})
    figures = {item["code"]: item for item in stats.json()["items"]}
    assert figures["MIN-A"]["received"] == 1
    assert figures["MIN-A"]["redirected_out"] == 1
    assert figures["MIN-B"]["received"] == 1


async def test_redirect_to_an_unknown_or_inactive_administration_is_refused(
    service: Service,
) -> None:
    first = service.administrations[0]
    closed = await service.administration("OLD", active=False)
    citizen, agent = service.citizen(), service.agent(first)
    created = await service.file(citizen, first)

    for target in (closed.id, "5b0c7a36-0d7a-4f2e-9a55-2f1d0f7c9e11"):
        refused = await service.step(
            agent,
            created["id"],
            "redirect",
            {"target_administration_id": str(target), "reason": "Ailleurs"},
        )
        body = problem(refused, 422)
        assert body["errors"][0]["field"] == "target_administration_id"
    to_itself = await service.step(
        agent, created["id"], "redirect", {"target_administration_id": str(first.id), "reason": "x"}
    )
    problem(to_itself, 422)
    assert await service.scalar("SELECT status FROM complaints.complaints") == "submitted"
    assert await service.scalar("SELECT count(*) FROM complaints.redirections") == 0
