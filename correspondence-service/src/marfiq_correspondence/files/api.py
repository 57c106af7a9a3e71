"""Route of uploads: `POST /v1/files`, streamed to storage."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from marfiq_correspondence.correspondence.access import Writer
from marfiq_correspondence.dependencies import Db, Files, Now, Settings
from marfiq_correspondence.files import service
from marfiq_correspondence.files.schemas import FileRead
from marfiq_correspondence.files.upload import FILE_FIELD, file_upload

router = APIRouter(prefix="/v1/files", tags=["files"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "A PDF, JPEG or PNG document; its type is read from "
                            "its content, not its name",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=FileRead, openapi_extra=UPLOAD_BODY
)
async def upload_file(
    viewer: Writer, request: Request, settings: Settings, storage: Files, database: Db, now: Now
) -> FileRead:
    """Upload a document to attach to a letter or an answer (`file_ids`).

    415 for anything but PDF, JPEG or PNG (executables whatever their name), 413 past the
    size limit; either way nothing is kept. Files never attached are deleted after a day.
    """
    upload = file_upload(request)
    return await service.upload(
        database=database,
        storage=storage,
        viewer=viewer,
        chunks=upload.chunks(),
        filename=lambda: upload.filename,
        max_bytes=settings.file_max_bytes,
        now=now,
    )
