"""The file part of a multipart/form-data request, read as a stream.

Starlette's form parsing spools every file to a temporary file before the route runs; an
attachment instead goes from the socket to the storage chunk by chunk, so its size limit,
type check and hash apply while it arrives and nothing but the storage ever holds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import PurePosixPath, PureWindowsPath

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from marfiq_complaints.attachments.errors import FilePartMissing, NotMultipart

FILE_FIELD = "file"
DEFAULT_NAME = "document"


def clean_filename(raw: str | None) -> str:
    """A display name: the last path segment, no control characters, at most 255 chars."""
    if not raw:
        return DEFAULT_NAME
    name = PureWindowsPath(PurePosixPath(raw).name).name
    name = "".join(char for char in name if char.isprintable()).strip(" .")
    return name[:255] or DEFAULT_NAME


class FileUpload:
    """The part named `file` of the request body; `filename` is known once it started."""

    def __init__(self, request: Request) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type"))
        boundary = options.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise NotMultipart()
        self._request = request
        self._boundary = boundary
        self.filename: str = DEFAULT_NAME

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive; FilePartMissing when the body has no file."""
        pending: list[bytes] = []
        headers: dict[bytes, bytes] = {}
        header = [b"", b""]
        state = {"in_file": False, "found": False, "done": False}

        def on_part_begin() -> None:
            headers.clear()

        def on_header_field(data: bytes, start: int, end: int) -> None:
            header[0] += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            header[1] += data[start:end]

        def on_header_end() -> None:
            headers[header[0].strip().lower()] = header[1].strip()
            header[0], header[1] = b"", b""

        def on_headers_finished() -> None:
            _, disposition = parse_options_header(headers.get(b"content-disposition"))
            if disposition.get(b"name") == FILE_FIELD.encode() and not state["found"]:
                state["in_file"] = state["found"] = True
                raw = disposition.get(b"filename")
                self.filename = clean_filename(raw.decode("utf-8", "replace") if raw else None)

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if state["in_file"]:
                pending.append(bytes(data[start:end]))

        def on_part_end() -> None:
            if state["in_file"]:
                state["in_file"], state["done"] = False, True

        parser = MultipartParser(
            self._boundary,
            {
                "on_part_begin": on_part_begin,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
                "on_headers_finished": on_headers_finished,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
            },
        )
        try:
            async for received in self._request.stream():
                parser.write(received)
                for piece in pending:
                    yield piece
                pending.clear()
                if state["done"]:
                    return  # the rest of the body (other fields) is of no use
            parser.finalize()
        except MultipartParseError as exc:
            raise NotMultipart(str(exc)) from exc
        if not state["found"] or not state["done"]:
            raise FilePartMissing()
