"""Routes of attachments: upload (streamed to storage) and download."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request, status
from fastapi.responses import StreamingResponse

from marfiq_complaints.attachments import service
from marfiq_complaints.attachments.errors import FilePartMissing, NotMultipart
from marfiq_complaints.complaints.access import Reader, Writer
from marfiq_complaints.complaints.schemas import AttachmentRead
from marfiq_complaints.dependencies import Files, Now, Settings
from marfiq_shared.db import Database, Session
from marfiq_shared.multipart import FILE_FIELD, FileUpload

router = APIRouter(prefix="/v1/complaints", tags=["attachments"])

_UPLOAD_BODY = {
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
    "/{complaint_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentRead,
    openapi_extra=_UPLOAD_BODY,
)
async def attach(
    complaint_id: uuid.UUID,
    viewer: Writer,
    request: Request,
    settings: Settings,
    storage: Files,
    now: Now,
) -> AttachmentRead:
    """Attach a document (the owner, or agents of the holding administration).

    415 for anything but PDF, JPEG or PNG (executables whatever their name), 413 past the
    size limit; either way nothing is kept. The SHA-256 measured while storing is returned.
    """
    # This route is its own transaction boundary instead of using the request session: a
    # database connection must not stay checked out while a slow client uploads, and a
    # file whose record cannot be committed must be deleted again.
    database: Database = request.app.state.db
    limit = settings.attachments_per_complaint
    async with database.sessionmaker() as session:
        await service.check_can_attach(
            session, viewer=viewer, complaint_id=complaint_id, limit=limit
        )
    upload = FileUpload(request, not_multipart=NotMultipart, part_missing=FilePartMissing)
    attachment_id = uuid.uuid4()
    stored = await storage.put(
        service.storage_key(complaint_id, attachment_id),
        upload.chunks(),
        max_bytes=settings.attachment_max_bytes,
    )
    try:
        async with database.sessionmaker() as session, session.begin():
            return await service.record(
                session,
                viewer=viewer,
                complaint_id=complaint_id,
                attachment_id=attachment_id,
                stored=stored,
                filename=upload.filename,
                limit=limit,
                now=now,
            )
    except BaseException:
        await storage.delete(stored.key)
        raise


@router.get(
    "/{complaint_id}/attachments/{attachment_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download(
    complaint_id: uuid.UUID,
    attachment_id: uuid.UUID,
    viewer: Reader,
    session: Session,
    storage: Files,
) -> StreamingResponse:
    """The document as stored, with its checked type and its SHA-256 as ETag."""
    found = await service.find(
        session, viewer=viewer, complaint_id=complaint_id, attachment_id=attachment_id
    )
    return StreamingResponse(
        storage.read(found.storage_key),
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "ETag": f'"{found.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
