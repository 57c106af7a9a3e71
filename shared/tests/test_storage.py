"""The storage abstraction: streamed, measured, type-checked from content, atomic."""

from __future__ import annotations

import asyncio
import ctypes
import errno
import fcntl
import hashlib
import mmap
import os
import random
import threading
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest

from marfiq_shared import storage as storage_module
from marfiq_shared.storage import (
    WRITE_RUN_BYTES,
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


def big_pdf(size: int) -> bytes:
    """A PDF head and incompressible bytes: a scan's size without its repetitions."""
    head = b"%PDF-1.7\n"
    return head + random.Random(size).randbytes(size - len(head))


def resident_pages(path: Path) -> tuple[int, int]:
    """(pages of `path` in the page cache, pages in all), by mincore(2)."""
    size = path.stat().st_size
    libc = ctypes.CDLL(None, use_errno=True)
    with (
        path.open("rb") as handle,
        mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_COPY) as mapped,
    ):
        pages = -(-size // mmap.PAGESIZE)
        vector = (ctypes.c_ubyte * pages)()
        address = ctypes.addressof(ctypes.c_char.from_buffer(mapped))
        if libc.mincore(ctypes.c_void_p(address), ctypes.c_size_t(size), vector) != 0:
            raise OSError(ctypes.get_errno(), "mincore")
        return sum(byte & 1 for byte in vector), pages


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


@pytest.mark.parametrize(
    "size",
    [
        mmap.PAGESIZE,  # one aligned page, nothing for the cache
        WRITE_RUN_BYTES - 1,  # one run short of a byte: all but a page direct
        WRITE_RUN_BYTES,  # exactly one run: written with the fsync, in one hop
        2 * WRITE_RUN_BYTES + 123,  # full runs, then a run with a partial page
    ],
)
async def test_uploads_of_every_alignment_are_stored_byte_for_byte(
    tmp_path: Path, size: int
) -> None:
    data = big_pdf(size)

    # Pieces of an odd size, as a socket hands them over.
    stored = await LocalStorage(tmp_path).put("x/big.pdf", stream(data, 65_537), max_bytes=size)

    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "x/big.pdf").read_bytes() == data
    assert leftovers(tmp_path) == [tmp_path / "x/big.pdf"]


async def test_uploads_go_around_the_page_cache_but_for_their_last_partial_page(
    tmp_path: Path,
) -> None:
    data = big_pdf(2 * WRITE_RUN_BYTES + 100)

    await LocalStorage(tmp_path).put("x/big.pdf", stream(data, 65_536), max_bytes=len(data))

    # Written through the cache, all 513 pages would be there (the file is seconds old).
    resident, pages = resident_pages(tmp_path / "x/big.pdf")
    assert pages == 513
    assert resident <= 1


def refuse_direct_at_open(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The filesystem refuses O_DIRECT when a file is opened (as some FUSE ones do)."""
    real_open = os.open
    refused: list[int] = []

    def open_(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if flags & os.O_DIRECT:
            refused.append(flags)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(storage_module.os, "open", open_)
    return refused


async def test_a_filesystem_refusing_direct_io_at_open_gets_ordinary_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = refuse_direct_at_open(monkeypatch)
    storage = LocalStorage(tmp_path)
    first, second = big_pdf(WRITE_RUN_BYTES + 5), big_pdf(3 * mmap.PAGESIZE)

    await storage.put("x/1.pdf", stream(first, 70_000), max_bytes=len(first))
    await storage.put("x/2.pdf", stream(second, 70_000), max_bytes=len(second))

    assert (tmp_path / "x/1.pdf").read_bytes() == first
    assert (tmp_path / "x/2.pdf").read_bytes() == second
    assert len(refused) == 1  # remembered: the second upload does not ask again


async def test_a_filesystem_refusing_direct_writes_gets_them_through_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_pwrite = os.pwrite
    refused = 0

    def pwrite(fd: int, data: Any, offset: int) -> int:
        nonlocal refused
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused += 1
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(storage_module.os, "pwrite", pwrite)
    storage = LocalStorage(tmp_path)
    first, second = big_pdf(2 * WRITE_RUN_BYTES + 7), big_pdf(WRITE_RUN_BYTES)

    stored = await storage.put("x/1.pdf", stream(first, 65_536), max_bytes=len(first))
    await storage.put("x/2.pdf", stream(second, 65_536), max_bytes=len(second))

    assert stored.sha256 == hashlib.sha256(first).hexdigest()
    assert (tmp_path / "x/1.pdf").read_bytes() == first
    assert (tmp_path / "x/2.pdf").read_bytes() == second
    assert refused == 1  # remembered: the second upload does not try again


async def test_a_request_cancelled_while_a_run_is_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, release = threading.Event(), threading.Event()
    real_pwrite = os.pwrite

    def slow_pwrite(fd: int, data: Any, offset: int) -> int:
        writing.set()
        release.wait(5)
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(storage_module.os, "pwrite", slow_pwrite)
    data = big_pdf(3 * WRITE_RUN_BYTES)
    storage = LocalStorage(tmp_path)
    upload = asyncio.create_task(storage.put("x/c.pdf", stream(data, 65_536), max_bytes=len(data)))
    await asyncio.to_thread(writing.wait, 5)

    upload.cancel()
    # The clean-up waits for the write under way (its descriptor and buffer) to end.
    await asyncio.sleep(0.05)
    assert not upload.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await upload

    assert leftovers(tmp_path) == []


async def test_a_drawn_document_is_drawn_and_stored_off_the_event_loop(
    tmp_path: Path,
) -> None:
    data = big_pdf(137_000)  # a receipt's size
    drawn_in: list[int] = []

    def draw() -> bytes:
        drawn_in.append(threading.get_ident())
        return data

    stored, document = await LocalStorage(tmp_path).put_drawn("documents/r.pdf", draw)

    assert len(drawn_in) == 1
    assert drawn_in[0] != threading.get_ident()  # off the event loop
    assert document == data
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.content_type == "application/pdf"
    assert (tmp_path / "documents/r.pdf").read_bytes() == data
    assert leftovers(tmp_path) == [tmp_path / "documents/r.pdf"]


async def test_a_drawn_document_of_a_refused_type_or_a_failing_drawing_leaves_nothing(
    tmp_path: Path,
) -> None:
    storage = LocalStorage(tmp_path)

    def broken() -> bytes:
        raise ValueError("no font")

    with pytest.raises(FileTypeRefused):
        await storage.put_drawn("documents/x.pdf", lambda: WINDOWS_PROGRAM)
    with pytest.raises(ValueError, match="no font"):
        await storage.put_drawn("documents/y.pdf", broken)
    with pytest.raises(InvalidStorageKey):
        await storage.put_drawn("../escape.pdf", lambda: PDF)
    assert leftovers(tmp_path) == []
