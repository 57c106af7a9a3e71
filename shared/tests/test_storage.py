"""The storage abstraction: streamed, measured, type-checked from content, atomic."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from marfiq_shared.storage import (
    FileEmpty,
    FileTooLarge,
    FileTypeRefused,
    InvalidStorageKey,
    LocalStorage,
    check_key,
    open_storage,
    sniff,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)


async def stream(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def leftovers(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WINDOWS_PROGRAM, "application/x-msdownload"),
        (b"\x7fELF\x02\x01\x01", "application/x-executable"),
        (b"#!/bin/sh\nrm -rf /\n", "text/x-shellscript"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"hello, world", None),
    ],
)
def test_sniff_reads_magic_numbers(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


async def test_a_streamed_pdf_is_stored_with_its_size_and_sha256(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)

    stored = await storage.put("complaints/a/b.pdf", stream(PDF), max_bytes=1024)

    assert stored.content_type == "application/pdf"
    assert stored.size == len(PDF)
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert (tmp_path / "complaints/a/b.pdf").read_bytes() == PDF
    assert await storage.exists("complaints/a/b.pdf")
    read = b"".join([chunk async for chunk in storage.read("complaints/a/b.pdf", chunk_bytes=5)])
    assert read == PDF
    await storage.delete("complaints/a/b.pdf")
    assert not await storage.exists("complaints/a/b.pdf")
    await storage.delete("complaints/a/b.pdf")  # absent is fine


async def test_an_executable_named_pdf_is_refused_and_nothing_is_left(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)

    with pytest.raises(FileTypeRefused) as refused:
        await storage.put("x/scan.pdf", stream(WINDOWS_PROGRAM), max_bytes=1024)

    assert refused.value.status == 415
    assert refused.value.extensions["detected_type"] == "application/x-msdownload"
    assert refused.value.extensions["executable"] is True
    assert leftovers(tmp_path) == []


async def test_an_unknown_type_and_a_type_not_accepted_are_refused(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)

    with pytest.raises(FileTypeRefused):
        await storage.put("x/a.txt", stream(b"just some plain text here"), max_bytes=1024)
    with pytest.raises(FileTypeRefused):
        await storage.put("x/b.png", stream(PNG), max_bytes=1024, accept={"application/pdf"})
    assert leftovers(tmp_path) == []


async def test_a_file_over_the_limit_is_refused_midstream_and_nothing_is_left(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)
    body = PDF + bytes(10_000)

    with pytest.raises(FileTooLarge) as too_large:
        await storage.put("x/big.pdf", stream(body, size=1000), max_bytes=5_000)

    assert too_large.value.status == 413
    assert too_large.value.extensions["max_bytes"] == 5_000
    assert leftovers(tmp_path) == []


async def test_a_file_exactly_at_the_limit_is_accepted(tmp_path: Path) -> None:
    stored = await LocalStorage(tmp_path).put("x/a.pdf", stream(PDF), max_bytes=len(PDF))

    assert stored.size == len(PDF)


async def test_a_tiny_file_is_sniffed_when_the_stream_ends(tmp_path: Path) -> None:
    tiny = chunks([b"\xff\xd8", b"\xff"])
    stored = await LocalStorage(tmp_path).put("x/t.jpg", tiny, max_bytes=9)

    assert stored.content_type == "image/jpeg"
    assert stored.size == 3


async def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileEmpty):
        await LocalStorage(tmp_path).put("x/e.pdf", chunks([]), max_bytes=10)
    assert leftovers(tmp_path) == []


async def test_a_failing_source_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield PDF
        yield bytes(100)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await LocalStorage(tmp_path).put("x/cut.pdf", broken(), max_bytes=10_000)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../b", ".hidden", "a//b", "a b", ""])
def test_keys_cannot_escape_the_root(key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        check_key(key)


def test_open_storage_reads_folder_urls(tmp_path: Path) -> None:
    by_path = open_storage(str(tmp_path))
    by_url = open_storage(f"file://{tmp_path}")

    assert isinstance(by_path, LocalStorage)
    assert isinstance(by_url, LocalStorage)
    assert by_path.root == by_url.root == tmp_path.resolve()
    with pytest.raises(ValueError):
        open_storage("ftp://host/x")
