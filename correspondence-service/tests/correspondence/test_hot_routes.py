"""A submission's requests served by `hot_routes` answer exactly as FastAPI's routes do."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from correspondence_support import PDF, PROGRAM, Clock, Person, Service, Signer, running

from marfiq_correspondence.hot_routes import HotRoutes
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.documents import verify_pdf
from marfiq_shared.testing import without_middleware

_COMPARED_HEADERS = (
    "content-type",
    "content-language",
    "content-disposition",
    "cache-control",
    "x-content-type-options",
)
# Values that differ from one filing to the next; compared by their type only.
_DRAWN = {
    "id",
    "case_id",
    "file_id",
    "registration_number",
    "outgoing_number",
    "registered_at",
    "created_at",
    "receipt_code",
    "receipt_url",
    "instance",
}
_NOWHERE = "0b6c8d3e-6f51-4a7e-9d3c-4a1f2e8b7c60"


@pytest.fixture
async def plain(
    settings: CorrespondenceSettings, signer: Signer, service: Service
) -> AsyncIterator[Service]:
    """The same service (same database, storage and administrations) without `HotRoutes`."""
    async with running(settings, signer=signer, clock=Clock()) as started:
        without_middleware(started.app, HotRoutes)
        started.administrations = service.administrations
        yield started


def _shape(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, headers that matter, and the body with its drawn values named only."""
    headers = {name: answer.headers.get(name, "") for name in _COMPARED_HEADERS}
    headers["content-disposition"] = "set" if headers["content-disposition"] else ""
    if "location" in answer.headers:
        headers["location"] = answer.headers["location"].rsplit("/", 1)[0]
    assert len(answer.headers.get("x-request-id", "")) >= 8
    if answer.headers.get("content-type") == "application/pdf":
        assert answer.content.startswith(b"%PDF")
        assert answer.content.rstrip().endswith(b"%%EOF")
        return answer.status_code, headers, "pdf"
    body = answer.json()
    if isinstance(body, dict):
        for key in _DRAWN & body.keys():
            body[key] = type(body[key]).__name__
    return answer.status_code, headers, body


async def _submission_answers(service: Service) -> list[tuple[int, dict[str, str], Any]]:
    client = service.client
    mef = service.administrations[0]
    citizen = service.citizen(cin="AB123456")
    other = service.citizen()
    shapes = []

    uploaded = await service.upload(citizen, PDF, "demande.pdf")
    shapes.append(_shape(uploaded))
    shapes.append(_shape(await service.upload(citizen, PROGRAM, "lettre.pdf")))  # 415
    shapes.append(_shape(await service.upload(citizen, bytes(300 * 1024))))  # 413
    shapes.append(
        _shape(await client.post("/v1/files", json={"file": "x"}, headers=citizen.headers))
    )
    shapes.append(_shape(await service.upload(Person("nobody", {}), PDF)))  # 401
    bad_token = Person("forger", {"Authorization": "Bearer not.a.token"})
    shapes.append(_shape(await service.upload(bad_token, PDF)))

    letter = {
        "recipient_administration_id": str(mef.id),
        "subject": "Demande de certificat de résidence",
        "body": "Je sollicite la délivrance d'un certificat de résidence.",
        "file_ids": [uploaded.json()["file_id"]],
        "sender_name": "Amina El Idrissi",
    }
    filed = await client.post("/v1/correspondence", json=letter, headers=citizen.headers)
    shapes.append(_shape(filed))
    for refused in (
        letter | {"recipient_administration_id": _NOWHERE},  # no such office
        letter | {"file_ids": [_NOWHERE]},  # not an upload of theirs
        {key: value for key, value in letter.items() if key != "subject"},  # invalid
    ):
        answer = await client.post("/v1/correspondence", json=refused, headers=citizen.headers)
        shapes.append(_shape(answer))
    broken = await client.post(
        "/v1/correspondence",
        content=b"{",
        headers=citizen.headers | {"content-type": "application/json"},
    )
    shapes.append(_shape(broken))
    agent = service.agent(mef)
    mj = service.administrations[1]
    own = {"recipient_administration_id": str(mj.id), "subject": "Avis", "body": "Texte"}
    shapes.append(_shape(await client.post("/v1/correspondence", json=own, headers=agent.headers)))

    receipt_url = filed.json()["receipt_url"]
    drawn = await client.get(receipt_url, headers=citizen.headers)
    check = verify_pdf(drawn.content, service.pki.trust_roots())
    assert check.valid, check.problem
    shapes.append(_shape(drawn))
    stored = await client.get(receipt_url, headers=citizen.headers)
    assert stored.content == drawn.content
    shapes.append(_shape(stored))
    shapes.append(_shape(await client.get(receipt_url, headers=other.headers)))  # 404
    shapes.append(_shape(await client.get(receipt_url)))  # 401
    shapes.append(_shape(await client.get(f"/v1/correspondence/{uuid.uuid4()}/receipt")))
    not_an_id = "/v1/correspondence/not-an-id/receipt"
    shapes.append(_shape(await client.get(not_an_id, headers=citizen.headers)))
    return shapes


async def test_every_answer_of_the_hot_routes_is_fastapis(service: Service, plain: Service) -> None:
    served_here = await _submission_answers(service)
    through_fastapi = await _submission_answers(plain)

    assert served_here == through_fastapi
    statuses = [status for status, _, _ in served_here]
    assert statuses[:12] == [201, 415, 413, 400, 401, 401, 201, 422, 422, 422, 400, 201]
    receipts = [status for status, _, _ in served_here[12:]]
    assert receipts == [200, 200, 404, 401, 401, 422]


async def test_a_submission_is_served_here_and_counted_under_its_routes(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []

    def recorded(name: str) -> None:
        original = getattr(HotRoutes, name)

        async def wrapper(self: HotRoutes, *args: Any) -> bool:
            answered: bool = await original(self, *args)
            if answered:
                served.append(name)
            return answered

        monkeypatch.setattr(HotRoutes, name, wrapper)

    for name in ("_upload", "_filing", "_receipt"):
        recorded(name)
    citizen = service.citizen()
    file_id = await service.file_id(citizen)
    created = await service.send(citizen, service.administrations[0], file_ids=[file_id])
    receipt = await service.client.get(created["receipt_url"], headers=citizen.headers)
    assert receipt.status_code == 200
    replayed = await service.client.post(
        "/v1/correspondence",
        json={
            "recipient_administration_id": str(service.administrations[0].id),
            "subject": "Objet",
            "body": "Texte",
        },
        headers=citizen.headers | {"Idempotency-Key": "key-00000001"},
    )
    assert replayed.status_code == 201

    # The filing with a key went to FastAPI, which calls the service directly.
    assert served == ["_upload", "_filing", "_receipt"]
    metrics = (await service.client.get("/metrics")).text
    for route, status in (
        ("/v1/files", "201"),
        ("/v1/correspondence", "201"),
        ("/v1/correspondence/{correspondence_id}/receipt", "200"),
    ):
        assert f'route="{route}",service="correspondence-service",status="{status}"' in metrics
