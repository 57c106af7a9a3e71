"""The file part of a multipart/form-data request, read as a stream.

Starlette's form parsing spools every file to a temporary file before the route runs; here
the file goes from the socket to the storage chunk by chunk, so the size limit, the type
check and the hash apply while it arrives and only the storage ever holds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import PurePosixPath, PureWindowsPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from marfiq_correspondence.files.errors import FilePartMissing, NotMultipart

FILE_FIELD = "file"
DEFAULT_NAME = "document"
# Pieces are handed on in runs of about this size: each run costs the storage one write in
# a worker thread, and the socket delivers far smaller pieces (16-64 KiB).
RUN_BYTES = 256 * 1024


def clean_filename(raw: str | None) -> str:
    """A display name: the last path segment, no control characters, at most 255 chars."""
    if not raw:
        return DEFAULT_NAME
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = "".join(char for char in name if char.isprintable()).strip(" .")
    return name[:255] or DEFAULT_NAME


class _Parts:
    """Callbacks of the multipart parser, keeping the bytes of the first `file` part."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""
        self.in_file = False
        self.found = False
        self.done = False
        self.filename: str | None = None

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.headers.clear,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.strip().lower()] = self.value.strip()
        self.field, self.value = b"", b""

    def on_headers_finished(self) -> None:
        _, disposition = parse_options_header(self.headers.get(b"content-disposition"))
        if disposition.get(b"name") == FILE_FIELD.encode() and not self.found:
            self.in_file = self.found = True
            raw = disposition.get(b"filename")
            self.filename = clean_filename(raw.decode("utf-8", "replace") if raw else None)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        if self.in_file:
            self.in_file, self.done = False, True


class FileUpload:
    """The part named `file` of the request body; `filename` is known once it started."""

    def __init__(self, request: Request) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type"))
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise NotMultipart()
        self._request = request
        self._boundary = boundary
        self._parts = _Parts()

    @property
    def filename(self) -> str:
        return self._parts.filename or DEFAULT_NAME

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive; FilePartMissing when the body has no file."""
        parts = self._parts
        parser = MultipartParser(self._boundary, parts.callbacks())  # type: ignore[arg-type]
        try:
            async for received in self._request.stream():
                parser.write(received)
                if parts.pending and (parts.done or sum(map(len, parts.pending)) >= RUN_BYTES):
                    yield b"".join(parts.pending)
                    parts.pending.clear()
                if parts.done:
                    return  # the rest of the body (other fields) is of no use
            parser.finalize()
        except MultipartParseError as exc:
            raise NotMultipart(str(exc)) from exc
        if not parts.found or not parts.done:
            raise FilePartMissing()
