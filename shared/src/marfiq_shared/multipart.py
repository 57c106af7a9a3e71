"""The file part of a multipart/form-data request, read as a stream.

Starlette's form parsing spools every file to a temporary file before the route runs; here
the file goes from the socket to the storage chunk by chunk, so the size limit, the type
check and the hash apply while it arrives and only the storage ever holds it.

Each service names the problems a bad body is answered with (their `type` URIs are its
own): `FileUpload(request, not_multipart=NotMultipart, part_missing=FilePartMissing)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import PurePosixPath, PureWindowsPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

FILE_FIELD = "file"
DEFAULT_NAME = "document"
# Pieces are handed on in runs of about this size: each run costs the storage one write
# (a worker thread, or a part of an S3 upload), and the socket delivers far smaller pieces.
RUN_BYTES = 256 * 1024


def clean_filename(raw: str | None) -> str:
    """A display name: the last path segment, no control characters, at most 255 chars."""
    if not raw:
        return DEFAULT_NAME
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = "".join(char for char in name if char.isprintable()).strip(" .")
    return name[:255] or DEFAULT_NAME


class _Parts:
    """Callbacks of the multipart parser, keeping the bytes of the first part named `field`."""

    def __init__(self, field: str) -> None:
        self.wanted = field.encode()
        self.pending: list[bytes] = []
        self.pending_bytes = 0
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
        if disposition.get(b"name") == self.wanted and not self.found:
            self.in_file = self.found = True
            raw = disposition.get(b"filename")
            self.filename = clean_filename(raw.decode("utf-8", "replace") if raw else None)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(bytes(data[start:end]))
            self.pending_bytes += end - start

    def on_part_end(self) -> None:
        if self.in_file:
            self.in_file, self.done = False, True

    def take(self) -> bytes:
        run = b"".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        return run


class FileUpload:
    """The part named `field` (`file`) of the request body; `filename` is known once it
    started. `not_multipart` is raised for a body that is not multipart/form-data (with
    the parser's reason, when there is one), `part_missing` when it has no such part."""

    def __init__(
        self,
        request: Request,
        *,
        not_multipart: Callable[..., Exception],
        part_missing: Callable[[], Exception],
        field: str = FILE_FIELD,
    ) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type"))
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise not_multipart()
        self._request = request
        self._boundary = boundary
        self._parts = _Parts(field)
        self._not_multipart = not_multipart
        self._part_missing = part_missing

    @property
    def filename(self) -> str:
        return self._parts.filename or DEFAULT_NAME

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive, in runs of about RUN_BYTES."""
        parts = self._parts
        parser = MultipartParser(self._boundary, parts.callbacks())  # type: ignore[arg-type]
        try:
            async for received in self._request.stream():
                parser.write(received)
                if parts.pending and (parts.done or parts.pending_bytes >= RUN_BYTES):
                    yield parts.take()
                if parts.done:
                    return  # the rest of the body (other fields) is of no use
            parser.finalize()
        except MultipartParseError as exc:
            raise self._not_multipart(str(exc)) from exc
        if not parts.found or not parts.done:
            raise self._part_missing()
