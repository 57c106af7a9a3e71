"""The filing served by `hot_routes` answers exactly as FastAPI's route does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from complaints_support import FrozenClock, Service, Signer, running

from marfiq_complaints import hot_routes
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_shared.hot_routes import HotRoutes
from marfiq_shared.testing import without_middleware

_COMPARED_HEADERS = ("content-type", "content-length", "content-language", "idempotent-replayed")
_RANDOM = ("id", "tracking_number", "instance")


@pytest.fixture
async def plain(
    settings: ComplaintsSettings, clock: FrozenClock, signer: Signer, service: Service
) -> AsyncIterator[Service]:
    """The same service, on the same database, with every request going through FastAPI."""
    async with running(settings, clock=clock, signer=signer) as started:
        without_middleware(started.app, HotRoutes)
        started.administrations = service.administrations
        yield started


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the hot route did with each request it was given: "filed", "refused" (an
    error rendered by the app's handlers) or "declined" (handed to FastAPI)."""
    outcomes: list[str] = []
    hot = hot_routes.ROUTES["/v1/complaints"]

    async def recorded(request: Any, body: Any) -> Any:
        try:
            answer = await hot.serve(request, body)
        except Exception:
            outcomes.append("refused")
            raise
        outcomes.append("declined" if answer is None else "filed")
        return answer

    monkeypatch.setitem(hot_routes.ROUTES, "/v1/complaints", replace(hot, serve=recorded))
    return outcomes


def _shape(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, the headers that matter, and the body with its random values named only."""
    body = answer.json()
    location = answer.headers.get("location", "")
    if isinstance(body, dict):
        if answer.status_code == 201:
            assert location == f"/v1/complaints/{body['id']}"
            location = "/v1/complaints/{id}"
        for key in _RANDOM:
            if key in body:
                body[key] = type(body[key]).__name__
    headers = {name: answer.headers.get(name, "") for name in _COMPARED_HEADERS}
    headers["location"] = location
    assert len(answer.headers.get("x-request-id", "")) >= 8
    return answer.status_code, headers, body


async def _filing_answers(service: Service) -> list[tuple[int, dict[str, str], Any]]:
    client = service.client
    citizen = service.citizen()
    administration = service.administrations[0]
    body = {
        "administration_id": str(administration.id),
        "kind": "complaint",
        "subject": "Retard de délivrance d'un acte de naissance",
        "description": "Demande déposée il y a deux mois, toujours sans réponse.",
    }

    async def post(json: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        answer = await client.post("/v1/complaints", json=json, headers=headers, **kw)
        return _shape(answer)

    arabic = citizen.headers | {"Accept-Language": "ar"}
    return [
        await post(body, citizen.headers),
        await post(body | {"kind": "information_request", "urgent": True}, arabic),
        await post(body | {"kind": "gossip"}, citizen.headers),  # not a kind
        await post({"kind": "complaint"}, citizen.headers),  # fields missing
        await post(body | {"extra": 1}, citizen.headers),
        await post(body | {"administration_id": str(uuid.uuid4())}, arabic),  # unknown
        await post(body),  # no token
        await post({"kind": "gossip"}),  # no token and a bad body: the token first
        await post(body, {"Authorization": "Bearer not-a-token"}),
        await post(body, {"Authorization": "Basic abc"}),
        await post(body, service.agent(administration).headers),  # not a citizen
        await post(
            body, service.client_of(administration, "complaints:write").headers
        ),  # a partner system files nothing here
        await post(
            content=b'{"kind": ',
            headers=citizen.headers | {"content-type": "application/json"},
        ),
        await post(
            content=b"",
            headers=citizen.headers | {"content-type": "application/json"},
        ),
        await post(body, citizen.headers | {"Idempotency-Key": "short"}),
        await post(body, citizen.headers | {"Idempotency-Key": "filing-key-0001"}),
        await post(body, citizen.headers | {"Idempotency-Key": "filing-key-0001"}),
    ]


async def test_every_answer_of_the_hot_filing_is_fastapis(
    service: Service, plain: Service, served: list[str]
) -> None:
    served_here = await _filing_answers(service)
    through_fastapi = await _filing_answers(plain)

    assert served_here == through_fastapi
    statuses = [status for status, _, _ in served_here]
    assert statuses[:6] == [201, 201, 422, 422, 422, 422]
    assert statuses[6:] == [401, 401, 401, 401, 403, 403, 400, 422, 422, 201, 201]
    assert served_here[-1][1]["idempotent-replayed"] == "true"
    # Bodies that do not validate never reached it; a key is FastAPI's to check.
    assert served == ["filed", "filed", "refused"] + ["refused"] * 5 + ["declined"] * 3


async def test_a_hot_filing_is_committed_with_its_event_and_counted_under_its_route(
    service: Service, served: list[str]
) -> None:
    citizen = service.citizen()
    created = await service.file(citizen, service.administrations[1])

    assert served == ["filed"]
    rows = await service.rows(
        "SELECT owner_sub, administration_id FROM complaints.complaints WHERE id = :id",
        id=uuid.UUID(created["id"]),
    )
    assert [(row["owner_sub"], row["administration_id"]) for row in rows] == [
        (citizen.sub, service.administrations[1].id)
    ]
    submitted = await service.events("complaints.complaint.submitted")
    assert [event["data"]["complaint_id"] for event in submitted] == [created["id"]]
    metrics = (await service.client.get("/metrics")).text
    assert 'method="POST",route="/v1/complaints",service="complaints-service",status="201"' in (
        metrics
    )
