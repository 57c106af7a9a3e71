"""Routes of employers' declarations: submit (JSON or CSV), follow, read refused lines."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response, status

from marfiq_pensions.db import idempotency
from marfiq_pensions.declarations import service
from marfiq_pensions.declarations.errors import NotADeclaringEmployer
from marfiq_pensions.declarations.schemas import (
    DeclarationAccepted,
    DeclarationPage,
    DeclarationRead,
    RowErrorPage,
    openapi_body,
)
from marfiq_pensions.dependencies import Now, Regimes, Settings
from marfiq_pensions.regimes import RegimeCode
from marfiq_shared.auth import CurrentPrincipal, Principal
from marfiq_shared.db import Session
from marfiq_shared.idempotency import IdempotencyKey, fingerprint, run_once
from marfiq_shared.pagination import Cursor, Limit
from marfiq_shared.problems import Forbidden

DECLARE_SCOPE = "pensions:declare"

router = APIRouter(prefix="/v1/pensions/declarations", tags=["declarations"])


async def require_declarer(principal: CurrentPrincipal) -> Principal:
    """A partner client of an administration holding `pensions:declare`, or its agents."""
    if principal.adm is None or not (principal.is_client or principal.is_agent):
        raise NotADeclaringEmployer()
    if principal.is_client and DECLARE_SCOPE not in principal.scope:
        raise Forbidden(f"this client lacks the scope {DECLARE_SCOPE}", scope=DECLARE_SCOPE)
    return principal


Declarer = Annotated[Principal, Depends(require_declarer)]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeclarationAccepted,
    openapi_extra=openapi_body(),
)
async def submit_declaration(
    request: Request,
    response: Response,
    declarer: Declarer,
    session: Session,
    settings: Settings,
    regimes: Regimes,
    now: Now,
    background: BackgroundTasks,
    period: Annotated[
        str | None, Query(max_length=10, description="YYYY-MM (CSV; JSON has it in the body)")
    ] = None,
    regime: Annotated[RegimeCode | None, Query(description="CSV; civil by default")] = None,
    employer_id: Annotated[uuid.UUID | None, Query(description="CSV; the caller's")] = None,
    idempotency_key: IdempotencyKey = None,
) -> DeclarationAccepted:
    """Submit a monthly wage declaration as `application/json` or `text/csv` (202).

    Lines are checked one by one: the answer counts those refused for their format at once;
    the others are processed in the background. Follow `Location` for the status and the
    per-line report. A new declaration of the same month replaces the previous one whole,
    once it is processed.
    """
    body = await request.body()
    submission = service.Submission(
        body=body,
        content_type=request.headers.get("content-type", ""),
        period=period,
        regime=regime.value if regime else None,
        employer_id=employer_id,
    )
    request_fingerprint = fingerprint(
        "POST",
        request.url.path,
        [hashlib.sha256(body).hexdigest(), submission.content_type, period, regime, employer_id],
    )
    accepted, replayed = await run_once(
        session,
        idempotency,
        owner=declarer.sub,
        key=idempotency_key,
        request_fingerprint=request_fingerprint,
        create=lambda: service.submit(
            session,
            declarer=declarer,
            submission=submission,
            settings=settings,
            catalogue=regimes,
            now=now,
        ),
        model=DeclarationAccepted,
    )
    response.headers["Location"] = f"{request.url.path}/{accepted.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    # Background tasks run once the answer is sent, so after the commit: the worker finds
    # the rows at once instead of at its next poll.
    background.add_task(request.app.state.declaration_worker.wake)
    return accepted


@router.get("", response_model=DeclarationPage)
async def list_declarations(
    reader: Declarer, session: Session, limit: Limit = 50, cursor: Cursor = None
) -> DeclarationPage:
    """The caller's administration's declarations, newest first."""
    return await service.list_declarations(session, reader=reader, cursor=cursor, limit=limit)


@router.get("/{declaration_id}", response_model=DeclarationRead)
async def read_declaration(
    declaration_id: uuid.UUID, reader: Declarer, session: Session
) -> DeclarationRead:
    """Status, counts and the first refused lines of one of the caller's declarations."""
    return await service.read(session, reader=reader, declaration_id=declaration_id)


@router.get("/{declaration_id}/errors", response_model=RowErrorPage)
async def declaration_errors(
    declaration_id: uuid.UUID,
    reader: Declarer,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Cursor = None,
) -> RowErrorPage:
    """Every refused line, in order, a page at a time."""
    declaration = await service.visible(session, reader=reader, declaration_id=declaration_id)
    return await service.error_page(session, declaration=declaration, cursor=cursor, limit=limit)
