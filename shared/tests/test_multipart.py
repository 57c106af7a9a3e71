"""The streaming multipart reader: the file part's bytes in runs, its cleaned name, and the
service's own problems for a body that is not what it should be."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from starlette.requests import Request

from marfiq_shared.multipart import RUN_BYTES, FileUpload, clean_filename

BOUNDARY = "marfiqtestboundary"


class NotMultipart(Exception):
    pass


class PartMissing(Exception):
    pass


def request(pieces: Iterable[bytes], content_type: str | None = None) -> Request:
    """A request whose body arrives in `pieces`, as a server hands it on."""
    queue = list(pieces)
    kind = content_type or f"multipart/form-data; boundary={BOUNDARY}"

    async def receive() -> dict[str, object]:
        body = queue.pop(0) if queue else b""
        return {"type": "http.request", "body": body, "more_body": bool(queue)}

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", kind.encode())]}
    return Request(scope, receive)


def part(name: str, content: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return (
        (
            f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + b"\r\n"
    )


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(req: Request) -> FileUpload:
    return FileUpload(req, not_multipart=NotMultipart, part_missing=PartMissing)


async def read(reader: FileUpload) -> list[bytes]:
    return [chunk async for chunk in reader.chunks()]


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def test_the_file_part_arrives_whole_in_runs_and_other_fields_are_skipped() -> None:
    content = bytes(range(256)) * 4096  # 1 MiB, every byte value, CR and LF included
    data = body(part("note", b"a field first"), part("file", content, "scan.pdf"))
    reader = upload(request(split(data, 16 * 1024)))

    chunks = await read(reader)

    assert b"".join(chunks) == content
    # Handed on in runs (a storage write each), not in the socket's 16 KiB pieces.
    assert len(chunks) <= len(content) // RUN_BYTES + 1
    assert reader.filename == "scan.pdf"


async def test_only_the_first_file_part_is_read() -> None:
    data = body(part("file", b"%PDF-first", "a.pdf"), part("file", b"%PDF-second", "b.pdf"))
    reader = upload(request([data]))

    assert b"".join(await read(reader)) == b"%PDF-first"
    assert reader.filename == "a.pdf"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\amina\\scan.pdf", "scan.pdf"),
        ("bad\x00\x1fname.pdf", "badname.pdf"),
        ("", "document"),
        (None, "document"),
        ("...", "document"),
        ("x" * 300 + ".pdf", "x" * 255),
    ],
)
def test_a_file_name_is_reduced_to_a_safe_display_name(raw: str | None, clean: str) -> None:
    assert clean_filename(raw) == clean


async def test_a_body_without_a_file_part_is_refused_with_the_services_problem() -> None:
    reader = upload(request([body(part("note", b"no file here"))]))

    with pytest.raises(PartMissing):
        await read(reader)


async def test_a_body_cut_off_inside_the_file_is_refused() -> None:
    data = part("file", b"%PDF-" + b"0" * 1000, "a.pdf")[:-200]
    reader = upload(request([data]))

    with pytest.raises(PartMissing):
        await read(reader)


def test_a_body_that_is_not_multipart_is_refused_at_once() -> None:
    with pytest.raises(NotMultipart):
        upload(request([b"{}"], content_type="application/json"))
    with pytest.raises(NotMultipart):
        upload(request([b""], content_type="multipart/form-data"))  # no boundary


async def test_a_malformed_multipart_body_is_the_services_not_multipart_problem() -> None:
    data = f"--{BOUNDARY}\r\nContent Disposition bad header\r\n\r\nxx".encode()
    reader = upload(request([data]))

    with pytest.raises(NotMultipart):
        await read(reader)
