"""Attachments: checked from their content, size-limited, hashed, streamed to storage."""

from __future__ import annotations

import hashlib
from pathlib import Path

from complaints_support import Person, Service, problem

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)


async def attach(
    service: Service,
    person: Person,
    complaint_id: str,
    content: bytes,
    filename: str = "piece.pdf",
    declared: str = "application/pdf",
) -> object:
    return await service.client.post(
        f"/v1/complaints/{complaint_id}/attachments",
        files={"file": (filename, content, declared)},
        data={"note": "ignored"},
        headers=person.headers,
    )


def stored_files(service: Service) -> list[Path]:
    root = Path(service.settings.storage_url)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def test_a_pdf_is_stored_with_its_hash_and_can_be_read_back(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)

    response = await attach(service, citizen, created["id"], PDF, filename="../../etc/reçu.pdf")

    assert response.status_code == 201, response.text
    attachment = response.json()
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert attachment["size"] == len(PDF)
    assert attachment["content_type"] == "application/pdf"
    assert attachment["filename"] == "reçu.pdf"
    assert attachment["uploader_role"] == "citizen"
    (path,) = stored_files(service)
    assert path.read_bytes() == PDF
    download = await service.client.get(
        f"/v1/complaints/{created['id']}/attachments/{attachment['id']}", headers=agent.headers
    )
    assert download.status_code == 200
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    detail = await service.client.get(f"/v1/complaints/{created['id']}", headers=agent.headers)
    assert [item["id"] for item in detail.json()["attachments"]] == [attachment["id"]]
    assert detail.json()["timeline"][-1]["action"] == "attach"


async def test_the_type_comes_from_the_content_not_the_name(service: Service) -> None:
    ministry = service.administrations[0]
    citizen = service.citizen()
    created = await service.file(citizen, ministry)

    png = await attach(service, citizen, created["id"], PNG, "photo.pdf", "application/pdf")

    assert png.status_code == 201
    assert png.json()["content_type"] == "image/png"


async def test_an_executable_renamed_pdf_is_refused_and_nothing_is_kept(service: Service) -> None:
    ministry = service.administrations[0]
    citizen = service.citizen()
    created = await service.file(citizen, ministry)

    refused = await attach(service, citizen, created["id"], PROGRAM, "facture.pdf")

    body = problem(refused, 415)
    assert body["type"].endswith("/file-type-refused")
    assert body["detected_type"] == "application/x-msdownload"
    assert body["executable"] is True
    assert stored_files(service) == []
    assert await service.scalar("SELECT count(*) FROM complaints.attachments") == 0


async def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(service: Service) -> None:
    ministry = service.administrations[0]
    citizen = service.citizen()
    created = await service.file(citizen, ministry)
    too_big = PDF + bytes(service.settings.attachment_max_bytes)

    refused = await attach(service, citizen, created["id"], too_big)

    assert problem(refused, 413)["max_bytes"] == service.settings.attachment_max_bytes
    assert stored_files(service) == []
    assert await service.scalar("SELECT count(*) FROM complaints.attachments") == 0


async def test_requests_without_a_file_part_are_refused(service: Service) -> None:
    ministry = service.administrations[0]
    citizen = service.citizen()
    created = await service.file(citizen, ministry)
    url = f"/v1/complaints/{created['id']}/attachments"

    as_json = await service.client.post(url, json={"file": "x"}, headers=citizen.headers)
    no_file = await service.client.post(url, files={"other": (None, "x")}, headers=citizen.headers)
    empty = await service.client.post(
        url, files={"file": ("a.pdf", b"", "application/pdf")}, headers=citizen.headers
    )

    problem(as_json, 400)
    assert problem(no_file, 422)["type"].endswith("/complaint-attachment-missing")
    assert problem(empty, 422)["type"].endswith("/file-empty")
    assert stored_files(service) == []


async def test_attachments_stop_at_the_limit_and_when_the_complaint_is_finished(
    service: Service,
) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)
    await service.execute(
        "INSERT INTO complaints.attachments SELECT gen_random_uuid(), :id, 'x.pdf', "
        "'application/pdf', 1, repeat('0', 64), 'k', 's', 'citizen', now() "
        "FROM generate_series(1, :n)",
        id=created["id"],
        n=service.settings.attachments_per_complaint,
    )
    full = await attach(service, citizen, created["id"], PDF)
    assert problem(full, 409)["type"].endswith("/complaint-attachment-limit")

    other = await service.file(citizen, ministry)
    await service.step(agent, other["id"], "reject", {"reason": "Irrecevable"})
    finished = await attach(service, citizen, other["id"], PDF)
    assert problem(finished, 409)["type"].endswith("/complaint-attachments-closed")
    assert stored_files(service) == []
