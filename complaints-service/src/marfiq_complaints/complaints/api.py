"""Routes of complaints: file, list, read, and one route per step of the lifecycle."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from marfiq_complaints.complaints import service, steps
from marfiq_complaints.complaints.access import Reader, Viewer, Writer
from marfiq_complaints.complaints.errors import NotAComplaintsParty
from marfiq_complaints.complaints.schemas import (
    AnswerStep,
    AssignStep,
    ComplaintCreate,
    ComplaintCreated,
    ComplaintDetail,
    ComplaintPage,
    ComplaintRead,
    NoteStep,
    RatingStep,
    ReasonStep,
    RedirectionPage,
    RedirectStep,
)
from marfiq_complaints.db import idempotency
from marfiq_complaints.dependencies import Now, Rules
from marfiq_complaints.lifecycle import Action, ActorRole, Kind, Payload, Policy, State
from marfiq_shared.auth import Citizen, Principal
from marfiq_shared.db import Driver, DriverTransaction, Session
from marfiq_shared.idempotency import IdempotencyKey, fingerprint, run_once
from marfiq_shared.pagination import Cursor, Limit
from marfiq_shared.problems import BadRequest

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,9})"\s*$')
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=64,
        description='The ETag read with the complaint (W/"<version>"): the step is refused '
        "with 412 if the complaint changed since.",
    ),
]


def _etag(version: int) -> str:
    return f'W/"{version}"'


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise BadRequest('If-Match must be an ETag of this complaint, e.g. W/"3"')
    return int(match.group(1))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ComplaintCreated)
async def file_complaint(
    body: ComplaintCreate,
    citizen: Citizen,
    transaction: Driver,
    request: Request,
    policy: Rules,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """File a complaint, observation, suggestion or information request (citizens).

    The answer carries the tracking number and the due dates. With `Idempotency-Key`, a
    repeated request (a retry after a lost answer) returns the first answer.
    """
    return await file(
        transaction,
        citizen=citizen,
        body=body,
        path=request.url.path,
        policy=policy,
        now=now,
        idempotency_key=idempotency_key,
    )


async def file(
    transaction: DriverTransaction,
    *,
    citizen: Principal,
    body: ComplaintCreate,
    path: str,
    policy: Policy,
    now: datetime,
    idempotency_key: str | None,
) -> Response:
    """The filing and its answer, for this route and for its hot path (`hot_routes`)."""
    viewer = Viewer(citizen.sub, ActorRole.CITIZEN)
    # Without a key nothing is remembered: the fingerprint is not worth computing.
    promise = fingerprint("POST", path, body.model_dump(mode="json")) if idempotency_key else b""
    created, replayed = await run_once(
        transaction,
        idempotency,
        owner=citizen.sub,
        key=idempotency_key,
        request_fingerprint=promise,
        create=lambda: service.submit(
            transaction, viewer=viewer, data=body, policy=policy, now=now
        ),
        model=ComplaintCreated,
    )
    headers = {"Location": f"{path}/{created.id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    # The busiest route answers its model serialised once: returned as a model, FastAPI
    # would validate it again against `response_model` before serialising it.
    return Response(
        created.model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        headers=headers,
        media_type="application/json",
    )


@router.get("", response_model=ComplaintPage)
async def list_complaints(
    viewer: Reader,
    session: Session,
    status: Annotated[list[State] | None, Query(description="One or more states")] = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Past a due date, now")] = None,
    assignee_id: Annotated[
        str | None, Query(max_length=128, description="An agent's sub, or `me`")
    ] = None,
    created_from: Annotated[date | None, Query(description="Filed on or after (local)")] = None,
    created_to: Annotated[date | None, Query(description="Filed on or before (local)")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Words of the subject or description")
    ] = None,
    tracking_number: Annotated[str | None, Query(max_length=40)] = None,
    order: Literal["newest", "oldest"] = "newest",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ComplaintPage:
    """A citizen's own complaints, or the queue of the caller's administration."""
    return await service.list_complaints(
        session,
        viewer=viewer,
        statuses=status or [],
        kinds=kind or [],
        overdue=overdue,
        assignee_id=assignee_id,
        created_from=created_from,
        created_to=created_to,
        q=q,
        tracking_number=tracking_number,
        ascending=order == "oldest",
        limit=limit,
        cursor=cursor,
    )


@router.get("/redirections", response_model=RedirectionPage)
async def list_redirections(
    viewer: Reader,
    session: Session,
    direction: Literal["out", "in"] = "out",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> RedirectionPage:
    """Agents: complaints the administration sent on (`out`) or received (`in`) by redirect."""
    if not viewer.is_agent:
        raise NotAComplaintsParty()
    return await service.list_redirections(
        session, viewer=viewer, outgoing=direction == "out", limit=limit, cursor=cursor
    )


@router.get("/{complaint_id}", response_model=ComplaintDetail)
async def read_complaint(
    complaint_id: uuid.UUID, viewer: Reader, session: Session, response: Response, policy: Rules
) -> ComplaintDetail:
    """One complaint with its timeline (owner, or agents of the administration holding it)."""
    detail = await service.get_complaint(
        session, viewer=viewer, complaint_id=complaint_id, policy=policy
    )
    response.headers["ETag"] = _etag(detail.version)
    return detail


async def _step(
    *,
    complaint_id: uuid.UUID,
    viewer: Viewer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    action: Action,
    payload: Payload,
    if_match: str | None,
    message: str | None = None,
) -> ComplaintRead:
    read = await steps.take_step(
        session,
        viewer=viewer,
        complaint_id=complaint_id,
        action=action,
        payload=payload,
        policy=policy,
        now=now,
        message=message,
        expected_version=_expected_version(if_match),
    )
    response.headers["ETag"] = _etag(read.version)
    return read


@router.post("/{complaint_id}/acknowledge", response_model=ComplaintRead)
async def acknowledge(
    complaint_id: uuid.UUID,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    body: NoteStep | None = None,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """The holding administration acknowledges receipt."""
    payload = Payload(reason=body.note if body else None)
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.ACKNOWLEDGE, payload=payload, if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/assign", response_model=ComplaintRead)
async def assign(
    complaint_id: uuid.UUID,
    body: AssignStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """Put an agent of the holding administration in charge (again, to hand it over)."""
    payload = Payload(assignee_id=body.assignee_id)
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.ASSIGN, payload=payload, if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/answer", response_model=ComplaintRead)
async def answer(
    complaint_id: uuid.UUID,
    body: AnswerStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """The holding administration answers; the citizen is told and may reopen for a while."""
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.ANSWER, payload=Payload(), if_match=if_match,
        message=body.answer,
    )  # fmt: skip


@router.post("/{complaint_id}/redirect", response_model=ComplaintRead)
async def redirect(
    complaint_id: uuid.UUID,
    body: RedirectStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """Send it to the competent administration, which gets its own deadlines (and access:
    the caller's administration loses it, keeping only the link)."""
    payload = Payload(
        reason=body.reason, target_administration_id=str(body.target_administration_id)
    )
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.REDIRECT, payload=payload, if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/reject", response_model=ComplaintRead)
async def reject(
    complaint_id: uuid.UUID,
    body: ReasonStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """Inadmissible: the reason is told to the citizen."""
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.REJECT, payload=Payload(reason=body.reason),
        if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/extend", response_model=ComplaintRead)
async def extend(
    complaint_id: uuid.UUID,
    body: ReasonStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """Information requests: extend the answer period once, before it ends, saying why."""
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.EXTEND, payload=Payload(reason=body.reason),
        if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/reopen", response_model=ComplaintRead)
async def reopen(
    complaint_id: uuid.UUID,
    body: ReasonStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """The citizen, not satisfied with the answer, reopens it within the window."""
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.REOPEN, payload=Payload(reason=body.reason),
        if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/close", response_model=ComplaintRead)
async def close(
    complaint_id: uuid.UUID,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    body: NoteStep | None = None,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """The citizen closes an answered complaint they are satisfied with."""
    payload = Payload(reason=body.note if body else None)
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.CLOSE, payload=payload, if_match=if_match,
    )  # fmt: skip


@router.post("/{complaint_id}/rating", response_model=ComplaintRead)
async def rate(
    complaint_id: uuid.UUID,
    body: RatingStep,
    viewer: Writer,
    session: Session,
    response: Response,
    policy: Rules,
    now: Now,
    if_match: IfMatch = None,
) -> ComplaintRead:
    """The citizen rates the answer, 1 to 5, with an optional comment; this closes it."""
    payload = Payload(rating=body.rating, comment=body.comment)
    return await _step(
        complaint_id=complaint_id, viewer=viewer, session=session, response=response,
        policy=policy, now=now, action=Action.RATE, payload=payload, if_match=if_match,
    )  # fmt: skip
