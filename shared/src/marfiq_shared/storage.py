"""Stored files (attachments, documents): one interface, a local folder by default.

A service writes a file by streaming its chunks to `Storage.put`, which sniffs the real
type from the first bytes (never from the name or the declared type), refuses what is not
on the caller's list (executables above all), caps the size while it streams, and returns
the SHA-256 and size it measured. A refused or interrupted upload leaves nothing behind:
bytes go to a scratch file that becomes the object only once complete.

Configured by URL (`open_storage`): a folder path or `file:` URL selects `LocalStorage`;
`s3://bucket/prefix?endpoint=…&region=…` an S3-compatible store (`storage_s3.S3Storage`,
credentials from the usual AWS variables, never from the URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import mmap
import os
import re
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from marfiq_shared.i18n import register_messages
from marfiq_shared.problems import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DOCUMENT_TYPES: frozenset[str] = frozenset({PDF, JPEG, PNG})

# How many leading bytes `sniff` needs to decide.
SNIFF_BYTES = 16
CHUNK_BYTES = 64 * 1024
# Local uploads are written in runs of this size (one worker-thread hop each), from
# page-aligned buffers of this size, of which IDLE_BUFFERS are kept between uploads.
WRITE_RUN_BYTES = 1024 * 1024
IDLE_BUFFERS = 16
# O_DIRECT's alignment of memory, offsets and lengths (a page covers every block size).
ALIGNMENT = mmap.PAGESIZE
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)

# Magic numbers, most specific first. Executables are named so that a refusal can say what
# the file really is (a program renamed "scan.pdf" is the case this exists for).
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xfe\xed\xfa\xce", "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    # Also Java class files; either way a program.
    (b"\xca\xfe\xba\xbe", "application/x-mach-binary"),
    (b"#!", "text/x-shellscript"),
    (b"\x00asm", "application/wasm"),
    (b"PK\x03\x04", "application/zip"),
)
EXECUTABLE_TYPES: frozenset[str] = frozenset(
    {
        "application/x-msdownload",
        "application/x-executable",
        "application/x-mach-binary",
        "text/x-shellscript",
        "application/wasm",
    }
)


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file prove, or None when unrecognised."""
    for magic, media_type in _SIGNATURES:
        if head.startswith(magic):
            return media_type
    return None


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    sha256: str  # lower-case hex
    content_type: str


class FileTooLarge(PayloadTooLarge):
    code = "file-too-large"


class FileTypeRefused(UnsupportedMediaType):
    code = "file-type-refused"


class FileEmpty(ValidationFailed):
    code = "file-empty"


class InvalidStorageKey(ValueError):
    """A key that could escape the storage root or is not portable across back-ends."""


MESSAGES: dict[str, dict[str, str]] = {
    FileTooLarge.code: {
        "en": "The file is larger than allowed.",
        "fr": "Le fichier dépasse la taille autorisée.",
        "ar": "حجم الملف يتجاوز الحد المسموح به.",
    },
    FileTypeRefused.code: {
        "en": "This kind of file is not accepted; send a PDF, JPEG or PNG document.",
        "fr": "Ce type de fichier n'est pas accepté ; envoyez un document PDF, JPEG ou PNG.",
        "ar": "هذا النوع من الملفات غير مقبول؛ أرسل وثيقة بصيغة PDF أو JPEG أو PNG.",
    },
    FileEmpty.code: {
        "en": "The file is empty.",
        "fr": "Le fichier est vide.",
        "ar": "الملف فارغ.",
    },
}
# An in-memory dictionary update: the titles exist before any storage error can be raised.
register_messages(MESSAGES)

_KEY = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$")


def check_key(key: str) -> str:
    """`key` when it is a relative path of safe segments (no `..`, no leading dot or slash)."""
    if len(key) > 512 or not _KEY.match(key):
        raise InvalidStorageKey(key)
    return key


class Storage(Protocol):
    """Where files live; every implementation streams and never holds a whole file."""

    async def put(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int,
        accept: Collection[str] = DOCUMENT_TYPES,
    ) -> StoredObject:
        """Store the stream under `key` once its type is accepted and its size within bounds.

        Raises FileTypeRefused (415), FileTooLarge (413) or FileEmpty (422); nothing is
        stored then.
        """
        ...

    async def put_drawn(
        self, key: str, draw: Callable[[], bytes], *, accept: Collection[str] = DOCUMENT_TYPES
    ) -> tuple[StoredObject, bytes]:
        """Store the document `draw` returns, `draw` being called in a worker thread (drawing
        and signing block); returns what was stored and the document.

        For what the platform issues, whole at once: a local folder draws, measures and
        writes it in one hop. Raises as `put` does.
        """
        ...

    def read(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        """The object's bytes, chunk by chunk; FileNotFoundError when absent."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; absent is fine."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None:
        """Release connections (at shutdown)."""
        ...


class _Measured:
    """Counts, hashes and sniffs a stream as it passes."""

    def __init__(self, *, max_bytes: int, accept: Collection[str]) -> None:
        self.max_bytes = max_bytes
        self.accept = accept
        self.size = 0
        self.digest = hashlib.sha256()
        self.content_type: str | None = None
        self._head = b""

    def take(self, chunk: bytes) -> bytes:
        """Account for `chunk`; returns what may be written now (held back until sniffed)."""
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise FileTooLarge(max_bytes=self.max_bytes)
        self.digest.update(chunk)
        if self.content_type is not None:
            return chunk
        self._head += chunk
        if len(self._head) < SNIFF_BYTES:
            return b""
        return self._decide()

    def finish(self) -> bytes:
        """What is still held back once the stream ended."""
        if self.size == 0:
            raise FileEmpty()
        return self._decide() if self.content_type is None else b""

    def stored(self, key: str) -> StoredObject:
        """What was stored under `key`, once the stream ended and was accepted."""
        assert self.content_type is not None
        return StoredObject(
            key=key,
            size=self.size,
            sha256=self.digest.hexdigest(),
            content_type=self.content_type,
        )

    def _decide(self) -> bytes:
        detected = sniff(self._head)
        if detected is None or detected not in self.accept:
            raise FileTypeRefused(
                detected_type=detected or "unknown",
                accepted_types=sorted(self.accept),
                executable=detected in EXECUTABLE_TYPES,
            )
        self.content_type = detected
        head, self._head = self._head, b""
        return head


class LocalStorage:
    """Objects as files under `root`; a scratch folder inside it makes writes atomic.

    Uploads are written once and read seldom (a download, a check), so they go around the
    page cache (O_DIRECT): the kernel then copies none of their bytes into cache pages it
    must first find and later evict, and the cache is left to what is read. O_DIRECT wants
    page-aligned memory: the bytes are gathered in reused aligned buffers and written a
    run of WRITE_RUN_BYTES at a time, one worker-thread hop each; only the last partial
    page goes through the cache. A filesystem that refuses O_DIRECT gets ordinary writes.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self._scratch = self.root / ".partial"
        self._buffers = _Buffers(WRITE_RUN_BYTES, keep=IDLE_BUFFERS)
        self._direct = bool(_O_DIRECT)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int,
        accept: Collection[str] = DOCUMENT_TYPES,
    ) -> StoredObject:
        target = self.path(key)
        measured = _Measured(max_bytes=max_bytes, accept=accept)
        scratch = _ScratchFile(self._scratch, self._buffers, direct=self._direct)
        try:
            async for chunk in chunks:
                await self._gather(scratch, measured.take(chunk))
            await self._gather(scratch, measured.finish())
            # A full last run waits for this hop: written with the fsync and the rename.
            await asyncio.to_thread(scratch.publish, target)
        except BaseException:
            # Shielded: a cancelled request must still leave no scratch file behind.
            await asyncio.shield(asyncio.to_thread(scratch.discard))
            raise
        finally:
            self._direct = scratch.direct
        return measured.stored(key)

    async def put_drawn(
        self, key: str, draw: Callable[[], bytes], *, accept: Collection[str] = DOCUMENT_TYPES
    ) -> tuple[StoredObject, bytes]:
        # One hop: drawn, measured, written (as uploads are), made durable and renamed.
        return await asyncio.to_thread(self._put_drawn, key, self.path(key), draw, accept)

    def _put_drawn(
        self, key: str, target: Path, draw: Callable[[], bytes], accept: Collection[str]
    ) -> tuple[StoredObject, bytes]:
        data = draw()
        measured = _Measured(max_bytes=len(data), accept=accept)
        scratch = _ScratchFile(self._scratch, self._buffers, direct=self._direct)
        try:
            for ready in (measured.take(data), measured.finish()):
                rest = memoryview(ready)
                while rest:
                    if scratch.full:
                        scratch.flush()
                    rest = scratch.gather(rest)
            scratch.publish(target)
        except BaseException:
            scratch.discard()
            raise
        finally:
            self._direct = scratch.direct
        return measured.stored(key), data

    @staticmethod
    async def _gather(scratch: _ScratchFile, data: bytes) -> None:
        rest = memoryview(data)
        while rest:
            if scratch.full:
                await asyncio.to_thread(scratch.flush)
            rest = scratch.gather(rest)

    async def read(self, key: str, *, chunk_bytes: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        # A file shorter than a chunk (a receipt) is opened, read and closed in one hop.
        handle, chunk = await asyncio.to_thread(_open_and_read, self.path(key), chunk_bytes)
        try:
            while chunk:
                yield chunk
                if handle.closed:
                    return
                chunk = await asyncio.to_thread(handle.read, chunk_bytes)
        finally:
            if not handle.closed:
                await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def close(self) -> None:
        """Nothing to release: files are opened per call."""


def _open_and_read(path: Path, chunk_bytes: int) -> tuple[BinaryIO, bytes]:
    """The open file and its first chunk; closed already when that was all of it."""
    handle = path.open("rb")
    try:
        chunk = handle.read(chunk_bytes)
        if len(chunk) < chunk_bytes:
            handle.close()
    except BaseException:
        handle.close()
        raise
    return handle, chunk


class _Buffers:
    """Page-aligned buffers (anonymous mappings), kept for reuse: a new mapping costs a
    page fault on every page it fills. Taken on the event loop; given back from a worker
    thread too (list.append and list.pop are atomic)."""

    def __init__(self, size: int, *, keep: int) -> None:
        self.size = size
        self.keep = keep
        self._idle: list[mmap.mmap] = []

    def take(self) -> mmap.mmap:
        try:
            return self._idle.pop()
        except IndexError:
            return mmap.mmap(-1, self.size)

    def give_back(self, buffer: mmap.mmap) -> None:
        if len(self._idle) < self.keep:
            self._idle.append(buffer)
        else:
            buffer.close()


class _ScratchFile:
    """The file an upload is written to before it becomes the object.

    `gather` copies bytes into the aligned buffer on the event loop; `flush`, `publish` and
    `discard` run in worker threads, one at a time: a cancelled request's clean-up waits
    on the lock for a write still under way with the descriptor and the buffer.
    """

    def __init__(self, folder: Path, buffers: _Buffers, *, direct: bool) -> None:
        self.folder = folder
        self.path = folder / uuid.uuid4().hex
        self.direct = direct
        self.filled = 0
        self._buffers = buffers
        self._buffer: mmap.mmap | None = buffers.take()
        self._fd = -1
        self._written = 0
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        assert self._buffer is not None
        return self.filled == len(self._buffer)

    def gather(self, data: memoryview) -> memoryview:
        """Copy what fits of `data` into the buffer; returns the rest."""
        assert self._buffer is not None
        taken = min(len(data), len(self._buffer) - self.filled)
        self._buffer[self.filled : self.filled + taken] = data[:taken]
        self.filled += taken
        return data[taken:]

    def flush(self) -> None:
        """Write the full buffer."""
        with self._lock:
            self._write_buffer()

    def publish(self, target: Path) -> None:
        """Write what the buffer holds, make the file durable and move it to `target`."""
        with self._lock:
            self._write_buffer()
            os.fsync(self._fd)
            self._close()
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, target)
            self._give_back_buffer()
        _sync_directory(target.parent)

    def discard(self) -> None:
        with self._lock:
            self._close()
            self.path.unlink(missing_ok=True)
            self._give_back_buffer()

    def _write_buffer(self) -> None:
        assert self._buffer is not None
        if self._fd < 0:
            self._open()
        data = memoryview(self._buffer)[: self.filled]
        self.filled = 0
        if self.direct:
            aligned = len(data) - len(data) % ALIGNMENT
            try:
                self._write_at(data[:aligned])
            except OSError as exc:
                # Some filesystems take the flag at open and refuse the write: the run is
                # written again through the cache, from where it began.
                if exc.errno != errno.EINVAL:
                    raise
                self.direct = False  # remembered by the storage for the next uploads
                self._stop_direct()
            else:
                data = data[aligned:]
                if data:  # the last partial page
                    self._stop_direct()
        self._write_at(data)

    def _write_at(self, data: memoryview) -> None:
        """Write `data` at the end of what this file holds so far."""
        offset = self._written
        while data:
            done = os.pwrite(self._fd, data, offset)
            offset += done
            data = data[done:]
        self._written = offset

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        if self.direct:
            try:
                self._fd = os.open(self.path, flags | _O_DIRECT, 0o666)
                return
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self.direct = False  # remembered by the storage for the next uploads
        self._fd = os.open(self.path, flags, 0o666)

    def _stop_direct(self) -> None:
        """Later writes of this file go through the page cache."""
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~_O_DIRECT)

    def _close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def _give_back_buffer(self) -> None:
        if self._buffer is not None:
            buffer, self._buffer = self._buffer, None
            self._buffers.give_back(buffer)


def _sync_directory(folder: Path) -> None:
    """Make a rename into `folder` durable: it must survive a crash, or a committed row
    could point at nothing."""
    with contextlib.suppress(OSError):
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def open_storage(url: str) -> Storage:
    """The storage a URL names: a folder path or `file:` URL (local folder), or
    `s3://bucket/prefix` with its options (see `marfiq_shared.storage_s3`). Nothing is
    connected here: an S3 client opens on first use."""
    parsed = urlsplit(url)
    if parsed.scheme in ("", "file"):
        path = unquote(parsed.path) if parsed.scheme else url
        if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise ValueError(f"{url}: file URLs name a local folder")
        return LocalStorage(path)
    if parsed.scheme == "s3":
        from marfiq_shared.storage_s3 import S3Location, S3Storage  # botocore only when used

        return S3Storage(S3Location.from_url(url))
    raise ValueError(f"{url}: unknown storage scheme {parsed.scheme!r}")


__all__ = [
    "CHUNK_BYTES",
    "DOCUMENT_TYPES",
    "EXECUTABLE_TYPES",
    "JPEG",
    "PDF",
    "PNG",
    "FileEmpty",
    "FileTooLarge",
    "FileTypeRefused",
    "InvalidStorageKey",
    "LocalStorage",
    "Storage",
    "StoredObject",
    "check_key",
    "open_storage",
    "sniff",
]
