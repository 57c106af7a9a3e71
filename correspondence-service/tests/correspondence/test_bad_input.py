"""Bad input is a 4xx problem document, and nothing is half-written."""

from __future__ import annotations

import uuid

import httpx
from correspondence_support import PDF, PROGRAM, Service, problem


async def counts(service: Service) -> tuple[int, int, int, int]:
    return (
        await service.scalar("SELECT count(*) FROM correspondence.correspondence"),
        await service.scalar("SELECT count(*) FROM correspondence.files"),
        await service.scalar("SELECT count(*) FROM correspondence.register_counters"),
        await service.scalar("SELECT count(*) FROM correspondence.outbox"),
    )


async def test_an_unknown_or_inactive_recipient_is_refused(service: Service) -> None:
    citizen = service.citizen()
    closed = await service.administration("OLD", active=False)

    for recipient in (uuid.uuid4(), closed.id):
        response = await service.client.post(
            "/v1/correspondence",
            json={"recipient_administration_id": str(recipient), "subject": "Objet"},
            headers=citizen.headers,
        )
        body = problem(response, 422)
        assert body["errors"][0]["field"] == "recipient_administration_id"
    assert await counts(service) == (0, 0, 0, 0)


async def test_an_empty_subject_is_refused(service: Service) -> None:
    mef = service.administrations[0]
    citizen = service.citizen()

    for subject in ("", "   "):
        response = await service.client.post(
            "/v1/correspondence",
            json={"recipient_administration_id": str(mef.id), "subject": subject},
            headers=citizen.headers,
        )
        body = problem(response, 422)
        assert body["errors"][0]["field"] == "subject"
    assert await counts(service) == (0, 0, 0, 0)


async def test_a_disguised_executable_is_refused_and_nothing_is_kept(service: Service) -> None:
    citizen = service.citizen()

    refused = await service.upload(citizen, PROGRAM, "facture.pdf", "application/pdf")

    body = problem(refused, 415)
    assert body["executable"] is True
    assert body["detected_type"] == "application/x-msdownload"
    assert service.stored_files() == []
    assert await counts(service) == (0, 0, 0, 0)


async def test_an_oversized_upload_is_refused_and_nothing_is_kept(service: Service) -> None:
    citizen = service.citizen()
    large = PDF + bytes(service.settings.file_max_bytes)

    refused = await service.upload(citizen, large, "gros.pdf")

    problem(refused, 413)
    assert service.stored_files() == []
    assert await counts(service) == (0, 0, 0, 0)


async def test_an_upload_cut_half_way_leaves_nothing(service: Service) -> None:
    citizen = service.citizen()
    boundary = "marfiqboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()

    async def body() -> object:
        yield head + PDF
        yield bytes(32 * 1024)
        raise ConnectionResetError("the client went away")

    try:
        response = await service.client.post(
            "/v1/files",
            content=body(),
            headers=citizen.headers | {"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    except (httpx.HTTPError, ConnectionResetError):
        response = None

    if response is not None:
        assert response.status_code >= 400
    assert service.stored_files() == []
    assert await counts(service) == (0, 0, 0, 0)


async def test_a_body_that_is_not_multipart_or_has_no_file_is_refused(service: Service) -> None:
    citizen = service.citizen()

    not_multipart = await service.client.post(
        "/v1/files", content=PDF, headers=citizen.headers | {"content-type": "application/pdf"}
    )
    no_file = await service.client.post(
        "/v1/files", files={"other": ("a.pdf", PDF, "application/pdf")}, headers=citizen.headers
    )

    problem(not_multipart, 400)
    problem(no_file, 422)
    assert service.stored_files() == []


async def test_someone_else_s_file_cannot_be_attached(service: Service) -> None:
    mef = service.administrations[0]
    owner, thief = service.citizen(), service.citizen()
    file_id = await service.file_id(owner)

    response = await service.client.post(
        "/v1/correspondence",
        json={"recipient_administration_id": str(mef.id), "subject": "X", "file_ids": [file_id]},
        headers=thief.headers,
    )

    problem(response, 422)
    assert await service.scalar("SELECT count(*) FROM correspondence.correspondence") == 0
    assert await service.scalar("SELECT count(*) FROM correspondence.register_counters") == 0


async def test_without_a_token_or_with_a_foreign_role_nothing_is_served(service: Service) -> None:
    problem(await service.client.get("/v1/correspondence"), 401)
    token = service.signer.token("x", roles=("platform_admin",))
    problem(
        await service.client.get(
            "/v1/correspondence", headers={"Authorization": f"Bearer {token}"}
        ),
        403,
    )
