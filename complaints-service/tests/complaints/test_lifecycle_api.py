"""A complaint's whole life over HTTP: every step, its timeline, its events, its figures."""

from __future__ import annotations

from typing import Any

from complaints_support import Service, problem


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


async def test_submit_acknowledge_assign_answer_reopen_answer_rate(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)

    created = await service.file(citizen, ministry)
    complaint_id = created["id"]
    assert created["status"] == "submitted"
    assert created["tracking_number"].startswith("PLT-2025-")
    # Filed Monday 1 Sep 2025: acknowledgement within 15 days, answer within 60 (calendar).
    assert created["due_ack_at"] == "2025-09-16T22:59:59Z"
    assert created["due_at"] == "2025-10-31T22:59:59Z"

    service.clock.advance(days=1)
    acknowledged = await service.step(agent, complaint_id, "acknowledge")
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.headers["etag"] == 'W/"2"'

    assigned = await service.step(agent, complaint_id, "assign", {"assignee_id": agent.sub})
    assert assigned.json()["status"] == "assigned"
    assert assigned.json()["assignee_id"] == agent.sub

    service.clock.advance(days=9)
    answered = await service.step(agent, complaint_id, "answer", {"answer": "Votre acte est prêt."})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    assert answered.json()["answer"] == "Votre acte est prêt."

    service.clock.advance(days=2)
    reopened = await service.step(
        citizen, complaint_id, "reopen", {"reason": "L'acte comporte une erreur de nom."}
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "reopened"
    # The answer period starts again from the reopening (60 calendar days).
    assert reopened.json()["due_answer_at"] == "2025-11-12T22:59:59Z"

    service.clock.advance(days=3)
    again = await service.step(agent, complaint_id, "answer", {"answer": "Acte corrigé."})
    assert again.json()["status"] == "answered"
    assert again.json()["answer_count"] == 2

    rated = await service.step(citizen, complaint_id, "rating", {"rating": 4, "comment": "Merci"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["status"] == "closed"
    assert rated.json()["rating"] == 4
    assert "reopen" not in rated.json()["allowed_actions"]

    seen = await service.client.get(f"/v1/complaints/{complaint_id}", headers=citizen.headers)
    assert seen.status_code == 200
    detail = seen.json()
    assert [entry["action"] for entry in detail["timeline"]] == [
        "submit", "acknowledge", "assign", "answer", "reopen", "answer", "rate",
    ]  # fmt: skip
    assert detail["timeline"][4]["reason"] == "L'acte comporte une erreur de nom."
    assert detail["timeline"][5]["message"] == "Acte corrigé."
    # The citizen sees who acted by role; agents' identities are for agents.
    assert detail["timeline"][1]["actor_id"] is None
    assert detail["assignee_id"] is None
    as_agent = await service.client.get(f"/v1/complaints/{complaint_id}", headers=agent.headers)
    assert as_agent.json()["timeline"][1]["actor_id"] == agent.sub
    assert as_agent.json()["assignee_id"] == agent.sub

    published = [e for e in await service.events() if e["type"].startswith("complaints.")]
    assert types(published) == [
        "complaints.complaint.submitted",
        "complaints.complaint.acknowledged",
        "complaints.complaint.assigned",
        "complaints.complaint.answered",
        "complaints.complaint.reopened",
        "complaints.complaint.answered",
        "complaints.complaint.rated",
        "complaints.complaint.closed",
    ]
    versions = [event["data"]["version"] for event in published]
    assert versions == sorted(versions)
    first_answer = published[3]["data"]
    assert first_answer["on_time"] is True
    assert first_answer["tracking_number"] == created["tracking_number"]
    assert first_answer["citizen_sub"] == citizen.sub
    assert first_answer["administration_id"] == str(ministry.id)
    assert published[0]["subject"] == complaint_id

    # The citizen is told through identity's notifications, in their language.
    notices = await service.events("identity.notification.requested")
    told = [n["data"] for n in notices if n["data"]["recipient_sub"] == citizen.sub]
    assert [notice["params"]["status"]["fr"] for notice in told] == [
        "accusée de réception", "répondue", "répondue",
    ]  # fmt: skip
    assert told[0]["kind"] == "complaints.status_changed"
    assert told[0]["params"]["tracking_number"] == created["tracking_number"]
    assert told[0]["params"]["administration"]["fr"] == "Administration MIN-A"
    assert told[1]["params"]["due_date"] == "2025-10-31"

    stats = await service.client.get("/v1/complaints/stats", params={"from": "2025-09"})
    assert stats.status_code == 200, stats.text
    figures = {item["code"]: item for item in stats.json()["items"]}["MIN-A"]
    assert figures["received"] == 1
    assert figures["answered"] == 1
    assert figures["answered_on_time"] == 1
    assert figures["answered_on_time_pct"] == 100.0
    assert figures["median_days_to_answer"] == 10
    assert figures["average_rating"] == 4
    assert figures["open_overdue"] == 0


async def test_an_illegal_step_is_a_409_problem_and_changes_nothing(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)

    answer = await service.step(agent, created["id"], "answer", {"answer": "Trop tôt"})
    body = problem(answer, 409)
    assert body["type"].endswith("/complaint-illegal-transition")
    assert body["state"] == "submitted"
    assert await service.scalar("SELECT version FROM complaints.complaints") == 1
    assert types(await service.events()) == ["complaints.complaint.submitted"]


async def test_a_citizen_cannot_take_an_agents_step_on_their_own_complaint(
    service: Service,
) -> None:
    ministry = service.administrations[0]
    citizen = service.citizen()
    created = await service.file(citizen, ministry)

    refused = await service.step(citizen, created["id"], "acknowledge")

    assert problem(refused, 403)["type"].endswith("/complaint-action-forbidden")


async def test_information_request_is_extended_once_with_its_reason(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry, kind="information_request")
    # Law 31.13: 20 working days from Monday 1 Sep 2025 (Mawlid, Friday 5 Sep, is not one),
    # no acknowledgement period.
    assert created["due_ack_at"] is None
    assert created["due_at"] == "2025-09-30T22:59:59Z"

    assert (await service.step(agent, created["id"], "acknowledge")).status_code == 200
    extended = await service.step(agent, created["id"], "extend", {"reason": "Archives"})
    assert extended.status_code == 200, extended.text
    assert extended.json()["status"] == "extended"
    assert extended.json()["due_answer_at"] == "2025-10-28T22:59:59Z"
    twice = await service.step(agent, created["id"], "extend", {"reason": "Encore"})
    assert problem(twice, 409)["type"].endswith("/complaint-already-extended")
    (event,) = await service.events("complaints.complaint.extended")
    assert event["data"]["reason"] == "Archives"
    assert event["data"]["previous_due_answer_at"] == "2025-09-30T22:59:59Z"


async def test_rejection_needs_a_reason_and_counts_in_the_figures(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)

    missing = await service.step(agent, created["id"], "reject", {"reason": "   "})
    assert problem(missing, 422)["errors"][0]["field"] == "reason"
    rejected = await service.step(agent, created["id"], "reject", {"reason": "Hors compétence"})
    assert rejected.json()["status"] == "rejected"
    stats = await service.client.get("/v1/complaints/stats", params={"from": "2025-09"})
    figures = {item["code"]: item for item in stats.json()["items"]}["MIN-A"]
    assert figures["rejected"] == 1
    assert figures["answered"] == 0


async def test_if_match_with_a_stale_version_is_refused(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)

    stale = await service.client.post(
        f"/v1/complaints/{created['id']}/acknowledge",
        headers=agent.headers | {"If-Match": 'W/"7"'},
    )
    fresh = await service.client.post(
        f"/v1/complaints/{created['id']}/acknowledge",
        headers=agent.headers | {"If-Match": 'W/"1"'},
    )

    assert problem(stale, 412)["current_version"] == 1
    assert fresh.status_code == 200
