"""Routes of correspondence: file, list, read, the processing steps, documents, receipt."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from marfiq_correspondence.correspondence import repository, service, steps
from marfiq_correspondence.correspondence.access import Reader, Viewer, Writer
from marfiq_correspondence.correspondence.errors import CorrespondenceNotFound, DocumentNotFound
from marfiq_correspondence.correspondence.lifecycle import State
from marfiq_correspondence.correspondence.models import Correspondence
from marfiq_correspondence.correspondence.schemas import (
    AddDocumentsStep,
    AnswerStep,
    AssignStep,
    CloseStep,
    CorrespondenceCreate,
    CorrespondenceCreated,
    CorrespondenceDetail,
    CorrespondencePage,
    ForwardStep,
    NoteStep,
    ReasonStep,
    RequestDocumentsStep,
)
from marfiq_correspondence.db import idempotency
from marfiq_correspondence.dependencies import Db, Files, Now, Pki, Settings
from marfiq_correspondence.documents import service as registry
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.db import Database, Session
from marfiq_shared.documents import PlatformPki
from marfiq_shared.idempotency import IdempotencyKey, fingerprint, run_once
from marfiq_shared.pagination import Cursor, Limit
from marfiq_shared.storage import Storage

router = APIRouter(prefix="/v1/correspondence", tags=["correspondence"])

PDF_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
# Receipts and answers are about 140 KB (their fonts are embedded whole).
ISSUED_READ_BYTES = 512 * 1024


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CorrespondenceCreated)
async def file_correspondence(
    body: CorrespondenceCreate,
    viewer: Writer,
    database: Db,
    request: Request,
    response: Response,
    settings: Settings,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> CorrespondenceCreated:
    """File a letter with an administration (citizens, companies' representatives with
    `company`, agents for their administration). It is registered at once: the answer
    carries its number and the receipt's verification code. With `Idempotency-Key`, a
    repeated request returns the first answer."""
    created, replayed = await register(
        body,
        viewer=viewer,
        database=database,
        path=request.url.path,
        settings=settings,
        now=now,
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = f"{request.url.path}/{created.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return created


async def register(
    body: CorrespondenceCreate,
    *,
    viewer: Viewer,
    database: Database,
    path: str,
    settings: CorrespondenceSettings,
    now: datetime,
    idempotency_key: str | None,
) -> tuple[CorrespondenceCreated, bool]:
    """What the filing route does (also served by `hot_routes`): the letter registered, and
    whether that is a replay of an earlier request with the same key."""
    # Without a key nothing is remembered: the fingerprint is not worth computing.
    promise = fingerprint("POST", path, body.model_dump(mode="json")) if idempotency_key else b""
    # Committed before the answer is sent, as the request's transaction always is.
    if viewer.administration_id is None:
        async with database.driver_transaction() as transaction:
            created, replayed = await run_once(
                transaction,
                idempotency,
                owner=viewer.sub,
                key=idempotency_key,
                request_fingerprint=promise,
                create=lambda: service.submit_as_person(
                    transaction, viewer=viewer, data=body, settings=settings, now=now
                ),
                model=CorrespondenceCreated,
            )
    else:
        async with database.sessionmaker() as session, session.begin():
            created, replayed = await run_once(
                session,
                idempotency,
                owner=viewer.sub,
                key=idempotency_key,
                request_fingerprint=promise,
                create=lambda: service.submit(
                    session, viewer=viewer, data=body, settings=settings, now=now
                ),
                model=CorrespondenceCreated,
            )
    return created, replayed


@router.get("", response_model=CorrespondencePage)
async def list_correspondence(
    viewer: Reader,
    session: Session,
    status: Annotated[list[State] | None, Query(description="One or more states")] = None,
    direction: Annotated[
        Literal["in", "out"] | None,
        Query(description="Agents: received by (in) or sent by (out) their administration"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CorrespondencePage:
    """What the caller sent (people), or their administration's registers (agents and
    partner clients), newest first."""
    return await service.list_correspondence(
        session,
        viewer=viewer,
        direction=direction,
        statuses=status or [],
        limit=limit,
        cursor=cursor,
    )


@router.get("/{correspondence_id}", response_model=CorrespondenceDetail)
async def read_correspondence(
    correspondence_id: uuid.UUID, viewer: Reader, session: Session
) -> CorrespondenceDetail:
    """One correspondence with its timeline, documents and the chain of its registrations
    (sender; agents of the administrations that hold, held or sent it)."""
    return await service.get_detail(session, viewer=viewer, correspondence_id=correspondence_id)


async def _detail(session: Session, row: Correspondence, viewer: Viewer) -> CorrespondenceDetail:
    return await service.detail_of(session, row=row, viewer=viewer)


@router.post("/{correspondence_id}/assign", response_model=CorrespondenceDetail)
async def assign(
    correspondence_id: uuid.UUID, body: AssignStep, viewer: Writer, session: Session, now: Now
) -> CorrespondenceDetail:
    """Route it to a department and, optionally, an agent."""
    row = await steps.assign(
        session,
        viewer=viewer,
        correspondence_id=correspondence_id,
        department=body.department,
        assignee_id=body.assignee_id,
        now=now,
    )
    return await _detail(session, row, viewer)


@router.post("/{correspondence_id}/request-documents", response_model=CorrespondenceDetail)
async def request_documents(
    correspondence_id: uuid.UUID,
    body: RequestDocumentsStep,
    viewer: Writer,
    session: Session,
    now: Now,
) -> CorrespondenceDetail:
    """Ask the sender for missing documents (they are told, and add them with /documents)."""
    row = await steps.request_documents(
        session,
        viewer=viewer,
        correspondence_id=correspondence_id,
        message=body.message,
        now=now,
    )
    return await _detail(session, row, viewer)


@router.post("/{correspondence_id}/documents", response_model=CorrespondenceDetail)
async def add_documents(
    correspondence_id: uuid.UUID,
    body: AddDocumentsStep,
    viewer: Writer,
    session: Session,
    settings: Settings,
    now: Now,
) -> CorrespondenceDetail:
    """The sender adds the documents they were asked for (files from POST /v1/files)."""
    row = await steps.add_documents(
        session,
        viewer=viewer,
        correspondence_id=correspondence_id,
        file_ids=body.file_ids,
        message=body.message,
        settings=settings,
        now=now,
    )
    return await _detail(session, row, viewer)


@router.post("/{correspondence_id}/forward", response_model=CorrespondenceDetail)
async def forward(
    correspondence_id: uuid.UUID, body: ForwardStep, viewer: Writer, session: Session, now: Now
) -> CorrespondenceDetail:
    """Send it on to the competent administration, which registers it with its own number."""
    row = await steps.forward(
        session,
        viewer=viewer,
        correspondence_id=correspondence_id,
        to_administration_id=body.administration_id,
        reason=body.reason,
        now=now,
    )
    return await _detail(session, row, viewer)


@router.post("/{correspondence_id}/answer", response_model=CorrespondenceDetail)
async def answer(
    correspondence_id: uuid.UUID,
    body: AnswerStep,
    viewer: Writer,
    database: Db,
    settings: Settings,
    storage: Files,
    pki: Pki,
    now: Now,
) -> CorrespondenceDetail:
    """Answer with a text and documents: a PDF signed in the administration's name."""
    # Its own transaction: the signed PDF is stored before the commit and must be removed
    # again if the commit does not happen.
    stored_key: str | None = None
    try:
        async with database.sessionmaker() as session, session.begin():
            row, issued = await steps.answer(
                session,
                viewer=viewer,
                correspondence_id=correspondence_id,
                text=body.text,
                file_ids=body.file_ids,
                settings=settings,
                storage=storage,
                pki=pki,
                now=now,
            )
            stored_key = issued.storage_key
            return await _detail(session, row, viewer)
    except BaseException:
        if stored_key is not None:
            await asyncio.shield(storage.delete(stored_key))
        raise


@router.post("/{correspondence_id}/reject", response_model=CorrespondenceDetail)
async def reject(
    correspondence_id: uuid.UUID, body: ReasonStep, viewer: Writer, session: Session, now: Now
) -> CorrespondenceDetail:
    """Refuse it; the sender is told the reason."""
    row = await steps.reject(
        session, viewer=viewer, correspondence_id=correspondence_id, reason=body.reason, now=now
    )
    return await _detail(session, row, viewer)


@router.post("/{correspondence_id}/close", response_model=CorrespondenceDetail)
async def close(
    correspondence_id: uuid.UUID,
    viewer: Writer,
    session: Session,
    now: Now,
    body: CloseStep | None = None,
) -> CorrespondenceDetail:
    """Close it once answered or rejected."""
    row = await steps.close(
        session,
        viewer=viewer,
        correspondence_id=correspondence_id,
        note=body.note if body else "",
        now=now,
    )
    return await _detail(session, row, viewer)


@router.post(
    "/{correspondence_id}/notes",
    response_model=CorrespondenceDetail,
    status_code=status.HTTP_201_CREATED,
)
async def add_note(
    correspondence_id: uuid.UUID, body: NoteStep, viewer: Writer, session: Session, now: Now
) -> CorrespondenceDetail:
    """An internal note of the holding administration; the sender never sees it."""
    row = await steps.note(
        session, viewer=viewer, correspondence_id=correspondence_id, text=body.text, now=now
    )
    return await _detail(session, row, viewer)


def _pdf_headers(name: str, sha256: str | None) -> dict[str, str]:
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    if sha256 is not None:
        headers["ETag"] = f'"{sha256}"'
    return headers


def _pdf_response(
    key: str, size: int | None, sha256: str | None, name: str, storage: Storage
) -> StreamingResponse:
    headers = _pdf_headers(name, sha256)
    if size is not None:
        headers["Content-Length"] = str(size)
    # Issued documents are small: read in one piece, one worker-thread hop.
    chunks = storage.read(key, chunk_bytes=ISSUED_READ_BYTES)
    return StreamingResponse(chunks, media_type="application/pdf", headers=headers)


@router.get("/{correspondence_id}/receipt", response_class=StreamingResponse, responses=PDF_ANSWER)
async def receipt(
    correspondence_id: uuid.UUID,
    viewer: Reader,
    database: Db,
    storage: Files,
    pki: Pki,
    settings: Settings,
    now: Now,
) -> Response:
    """The signed receipt of this registration (PAdES), drawn when first asked for."""
    return await receipt_response(
        correspondence_id,
        viewer=viewer,
        database=database,
        storage=storage,
        pki=pki,
        settings=settings,
        now=now,
    )


async def receipt_response(
    correspondence_id: uuid.UUID,
    *,
    viewer: Viewer,
    database: Database,
    storage: Storage,
    pki: PlatformPki,
    settings: CorrespondenceSettings,
    now: datetime,
) -> Response:
    """What the receipt route answers (also served by `hot_routes`)."""
    found = await repository.visible_receipt(database, correspondence_id, viewer)
    if found is None:
        raise CorrespondenceNotFound()
    name = f"receipt-{found['registration_number']}.pdf"
    if found["storage_key"] is None:
        content = found["content"]
        drawn = await registry.draw_receipt(
            database=database,
            storage=storage,
            pki=pki,
            settings=settings,
            code=found["code"],
            reference=found["reference"],
            content=orjson.loads(content) if isinstance(content, str) else content,
            now=now,
        )
        if drawn is not None:
            # Answered from memory: the PDF was just stored, reading it back costs more.
            return Response(
                drawn.pdf,
                media_type="application/pdf",
                headers=_pdf_headers(name, drawn.values["sha256"]),
            )
        found = await repository.visible_receipt(database, correspondence_id, viewer)
        assert found is not None
        assert found["storage_key"] is not None
    return _pdf_response(found["storage_key"], found["size"], found["sha256"], name, storage)


@router.get(
    "/{correspondence_id}/documents/{document_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download_document(
    correspondence_id: uuid.UUID,
    document_id: uuid.UUID,
    viewer: Reader,
    database: Db,
    storage: Files,
    pki: Pki,
    settings: Settings,
    now: Now,
) -> StreamingResponse:
    """A document of the case file, as stored (its SHA-256 as ETag)."""
    async with database.sessionmaker() as session:
        row = await repository.get_visible(session, correspondence_id, viewer)
        if row is None:
            raise CorrespondenceNotFound()
        found = next(
            (
                item
                for item in await repository.documents(session, row.id)
                if item.id == document_id
            ),
            None,
        )
    if found is None:
        raise DocumentNotFound()
    if found.issued_code is not None:
        document = await registry.ensure_receipt(
            database=database,
            storage=storage,
            pki=pki,
            settings=settings,
            code=found.issued_code,
            now=now,
        )
        assert document.storage_key is not None
        return _pdf_response(
            document.storage_key,
            document.size,
            document.sha256,
            f"{found.kind}-{document.reference}.pdf",
            storage,
        )
    return StreamingResponse(
        storage.read(found.file_key),
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.file_size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}",
            "ETag": f'"{found.file_sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
