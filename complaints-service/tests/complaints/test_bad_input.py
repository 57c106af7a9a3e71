"""Bad input is a 4xx problem naming the field, and nothing is half written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from complaints_support import Service, problem


async def nothing_written(service: Service) -> None:
    for table in ("complaints", "timeline", "outbox", "stats_monthly", "idempotency_keys"):
        assert await service.scalar(f"SELECT count(*) FROM complaints.{table}") == 0, table


def body(service: Service, **changes: Any) -> dict[str, Any]:
    return {
        "administration_id": str(service.administrations[0].id),
        "kind": "complaint",
        "subject": "Coupure d'eau",
        "description": "Pas d'eau depuis trois jours dans le quartier.",
    } | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "   \n "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"description": "d" * 10_001}, "description"),
        ({"description": "bell\x07"}, "description"),
        ({"kind": "petition"}, "kind"),
        ({"administration_id": "not-a-uuid"}, "administration_id"),
        ({"unexpected": True}, "unexpected"),
    ],
)
async def test_invalid_fields_are_named_and_nothing_is_written(
    service: Service, changes: dict[str, Any], field: str
) -> None:
    citizen = service.citizen()

    response = await service.client.post(
        "/v1/complaints", json=body(service, **changes), headers=citizen.headers
    )

    errors = problem(response, 422)["errors"]
    assert field in [error["field"] for error in errors]
    await nothing_written(service)


@pytest.mark.parametrize("known", [False, True])
async def test_unknown_or_inactive_administration_is_a_422(service: Service, known: bool) -> None:
    citizen = service.citizen()
    target = (await service.administration("GONE", active=False)).id if known else uuid.uuid4()

    response = await service.client.post(
        "/v1/complaints",
        json=body(service, administration_id=str(target)),
        headers=citizen.headers | {"Accept-Language": "ar"},
    )

    document = problem(response, 422)
    assert document["type"].endswith("/complaint-administration-unknown")
    assert document["title"] == "هذه الإدارة غير موجودة في الدليل أو لم تعد تتلقى الشكايات."
    assert document["errors"][0]["field"] == "administration_id"
    await nothing_written(service)


async def test_only_information_requests_can_be_urgent(service: Service) -> None:
    citizen = service.citizen()

    refused = await service.client.post(
        "/v1/complaints", json=body(service, urgent=True), headers=citizen.headers
    )
    accepted = await service.client.post(
        "/v1/complaints",
        json=body(service, kind="information_request", urgent=True),
        headers=citizen.headers,
    )

    assert problem(refused, 422)["errors"][0]["field"] == "urgent"
    assert accepted.status_code == 201
    # Law 31.13 art. 17: 3 working days from Monday 1 Sep 2025.
    assert accepted.json()["due_at"] == "2025-09-04T22:59:59Z"


async def test_malformed_json_and_a_body_over_the_limit_are_refused(service: Service) -> None:
    citizen = service.citizen()
    headers = citizen.headers | {"Content-Type": "application/json"}

    malformed = await service.client.post("/v1/complaints", content=b"{", headers=headers)
    huge = await service.client.post(
        "/v1/complaints",
        json=body(service, description="x" * (service.settings.max_body_bytes + 1)),
        headers=citizen.headers,
    )

    problem(malformed, 400)
    problem(huge, 413)
    await nothing_written(service)


async def test_a_replayed_post_returns_the_first_answer(service: Service) -> None:
    citizen = service.citizen()
    headers = citizen.headers | {"Idempotency-Key": "file-once-2025-09-01"}

    first = await service.client.post("/v1/complaints", json=body(service), headers=headers)
    replay = await service.client.post("/v1/complaints", json=body(service), headers=headers)
    other = await service.client.post(
        "/v1/complaints", json=body(service, subject="Autre chose"), headers=headers
    )

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert problem(other, 422)["type"].endswith("/idempotency-key-reused")
    assert await service.scalar("SELECT count(*) FROM complaints.complaints") == 1
    assert len(await service.events("complaints.complaint.submitted")) == 1
    stats = await service.client.get("/v1/complaints/stats", params={"from": "2025-09"})
    assert {item["code"]: item for item in stats.json()["items"]}["MIN-A"]["received"] == 1


async def test_bad_step_bodies_are_422_and_change_nothing(service: Service) -> None:
    ministry = service.administrations[0]
    created = await service.file(service.citizen(), ministry)
    agent = service.agent(ministry)

    for action, payload in [
        ("assign", {}),
        ("assign", {"assignee_id": "a b"}),
        ("answer", {"answer": ""}),
        ("redirect", {"reason": "x"}),
        ("rating", {"rating": 6}),
    ]:
        problem(await service.step(agent, created["id"], action, payload), 422)
    bad_etag = await service.client.post(
        f"/v1/complaints/{created['id']}/acknowledge",
        headers=agent.headers | {"If-Match": "yesterday"},
    )
    problem(bad_etag, 400)
    assert await service.scalar("SELECT version FROM complaints.complaints") == 1
