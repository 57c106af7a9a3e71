"""Public verification of documents the platform issued (no sign-in), and revocation."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from marfiq_correspondence.correspondence.access import Writer
from marfiq_correspondence.correspondence.errors import NotACorrespondenceParty
from marfiq_correspondence.dependencies import Db, Files, Now, Pki, Settings
from marfiq_correspondence.documents import service
from marfiq_correspondence.documents.schemas import CopyCheck, DocumentVerification, Revocation
from marfiq_correspondence.files.upload import file_upload
from marfiq_shared.db import Session
from marfiq_shared.storage import PDF, FileTooLarge, FileTypeRefused, sniff

router = APIRouter(prefix="/v1/documents", tags=["documents"])


@router.get("/{code}", response_model=DocumentVerification)
async def verify(
    code: str, database: Db, storage: Files, pki: Pki, settings: Settings, now: Now
) -> DocumentVerification:
    """Who issued the document with this code, when, its SHA-256, and whether it is valid
    or revoked. Anyone holding the document may ask (the code is printed on it)."""
    document = await service.ensure_receipt(
        database=database,
        storage=storage,
        pki=pki,
        settings=settings,
        code=service.canonical_code(code),
        now=now,
    )
    return service.describe(document)


@router.post("/{code}/verification", response_model=CopyCheck)
async def check_copy(
    code: str,
    request: Request,
    database: Db,
    storage: Files,
    pki: Pki,
    settings: Settings,
    now: Now,
) -> CopyCheck:
    """Upload a copy (multipart, part `file`): is it the registered document, unchanged,
    signed by a key the platform certified, and not revoked?"""
    document = await service.ensure_receipt(
        database=database,
        storage=storage,
        pki=pki,
        settings=settings,
        code=service.canonical_code(code),
        now=now,
    )
    upload = file_upload(request)
    chunks: list[bytes] = []
    size = 0
    async for chunk in upload.chunks():
        size += len(chunk)
        if size > settings.verification_max_bytes:
            raise FileTooLarge(max_bytes=settings.verification_max_bytes)
        chunks.append(chunk)
    pdf = b"".join(chunks)
    if sniff(pdf[:16]) != PDF:
        raise FileTypeRefused(detected_type=sniff(pdf[:16]) or "unknown", accepted_types=[PDF])
    return await asyncio.to_thread(service.check_copy, document, pdf, pki)


@router.post("/{code}/revoke", response_model=DocumentVerification)
async def revoke(
    code: str, body: Revocation, viewer: Writer, session: Session, now: Now
) -> DocumentVerification:
    """An agent of the issuing administration withdraws a document (its code then says
    `revoked`)."""
    if viewer.administration_id is None:
        raise NotACorrespondenceParty()
    return await service.revoke(
        session,
        code=service.canonical_code(code),
        administration_id=viewer.administration_id,
        reason=body.reason,
        now=now,
    )
