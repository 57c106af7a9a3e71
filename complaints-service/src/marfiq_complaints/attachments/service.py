"""Attaching documents to a complaint and reading them back."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_complaints.attachments import repository
from marfiq_complaints.attachments.errors import (
    AttachmentLimitReached,
    AttachmentNotFound,
    ComplaintFinished,
)
from marfiq_complaints.attachments.models import Attachment
from marfiq_complaints.complaints import repository as complaints
from marfiq_complaints.complaints.access import Viewer
from marfiq_complaints.complaints.errors import ComplaintNotFound
from marfiq_complaints.complaints.schemas import AttachmentRead
from marfiq_complaints.lifecycle import State
from marfiq_shared.storage import StoredObject

FINISHED = frozenset({State.CLOSED.value, State.REJECTED.value})


def storage_key(complaint_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"complaints/{complaint_id}/{attachment_id}"


async def check_can_attach(
    session: AsyncSession,
    *,
    viewer: Viewer,
    complaint_id: uuid.UUID,
    limit: int,
    for_update: bool = False,
) -> None:
    """Refuse before any byte is read: someone else's complaint (404), a finished one or
    one with all its attachments (409)."""
    complaint = await complaints.get_visible(session, complaint_id, viewer, for_update=for_update)
    if complaint is None:
        raise ComplaintNotFound()
    if complaint.status in FINISHED:
        raise ComplaintFinished()
    if await repository.count(session, complaint_id) >= limit:
        raise AttachmentLimitReached(max_attachments=limit)


async def record(
    session: AsyncSession,
    *,
    viewer: Viewer,
    complaint_id: uuid.UUID,
    attachment_id: uuid.UUID,
    stored: StoredObject,
    filename: str,
    limit: int,
    now: datetime,
) -> AttachmentRead:
    """Record a stored file against the complaint, checking again under the row lock (the
    complaint may have moved to another administration while the file was uploading)."""
    await check_can_attach(
        session, viewer=viewer, complaint_id=complaint_id, limit=limit, for_update=True
    )
    values = {
        "id": attachment_id,
        "complaint_id": complaint_id,
        "filename": filename,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "storage_key": stored.key,
        "uploaded_by": viewer.sub,
        "uploader_role": viewer.role.value,
        "created_at": now,
    }
    await repository.add(session, values)
    await complaints.add_timeline(
        session,
        {
            "complaint_id": complaint_id,
            "at": now,
            "action": "attach",
            "actor_role": viewer.role.value,
            "actor_id": viewer.sub,
            "details": {"attachment_id": str(attachment_id), "filename": filename},
        },
    )
    return AttachmentRead.model_validate(values)


async def find(
    session: AsyncSession, *, viewer: Viewer, complaint_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment:
    """An attachment of a complaint the viewer can see."""
    if await complaints.get_visible(session, complaint_id, viewer) is None:
        raise ComplaintNotFound()
    found = await repository.get(session, complaint_id, attachment_id)
    if found is None:
        raise AttachmentNotFound()
    return found
