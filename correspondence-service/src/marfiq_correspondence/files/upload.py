"""Uploads of this service: the shared streaming multipart reader, with its problems."""

from __future__ import annotations

from starlette.requests import Request

from marfiq_correspondence.files.errors import FilePartMissing, NotMultipart
from marfiq_shared.multipart import FILE_FIELD, FileUpload

__all__ = ["FILE_FIELD", "FileUpload", "file_upload"]


def file_upload(request: Request) -> FileUpload:
    """The `file` part of `request`, streamed; this service's problems for a bad body."""
    return FileUpload(request, not_multipart=NotMultipart, part_missing=FilePartMissing)
