"""The administrations directory: public reading, changes by platform administrators."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from marfiq_identity.administrations import service
from marfiq_identity.administrations.models import AdministrationKind
from marfiq_identity.administrations.schemas import (
    AdministrationCreate,
    AdministrationPage,
    AdministrationRead,
    AdministrationUpdate,
)
from marfiq_identity.db import idempotency
from marfiq_shared.auth import PlatformAdmin
from marfiq_shared.db import Session
from marfiq_shared.idempotency import IdempotencyKey, fingerprint, run_once
from marfiq_shared.pagination import Cursor, Limit
from marfiq_shared.problems import BadRequest

router = APIRouter(prefix="/v1/administrations", tags=["administrations"])

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,9})"\s*$')


def _etag(version: int) -> str:
    return f'W/"{version}"'


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise BadRequest('If-Match must be an ETag of this resource, e.g. W/"3"')
    return int(match.group(1))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AdministrationRead)
async def create_administration(
    body: AdministrationCreate,
    admin: PlatformAdmin,
    session: Session,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> AdministrationRead:
    """Add an administration to the directory (platform administrators)."""
    created, replayed = await run_once(
        session,
        idempotency,
        owner=admin.sub,
        key=idempotency_key,
        request_fingerprint=fingerprint("POST", request.url.path, body.model_dump(mode="json")),
        create=lambda: service.create_administration(session, data=body),
        model=AdministrationRead,
    )
    response.headers["Location"] = f"{request.url.path}/{created.id}"
    response.headers["ETag"] = _etag(created.version)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return created


@router.get("", response_model=AdministrationPage)
async def list_administrations(
    session: Session,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Words starting names (Arabic or French) or code"),
    ] = None,
    kind: AdministrationKind | None = None,
    parent_id: uuid.UUID | None = None,
    include_inactive: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AdministrationPage:
    """The directory in name order; `q` searches without regard to case or accents."""
    return await service.list_administrations(
        session,
        q=q,
        kind=kind,
        parent_id=parent_id,
        include_inactive=include_inactive,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{administration_id}", response_model=AdministrationRead)
async def read_administration(
    administration_id: uuid.UUID, session: Session, response: Response
) -> AdministrationRead:
    """One administration."""
    found = await service.get_administration(session, administration_id=administration_id)
    response.headers["ETag"] = _etag(found.version)
    return found


@router.patch("/{administration_id}", response_model=AdministrationRead)
async def update_administration(
    administration_id: uuid.UUID,
    body: AdministrationUpdate,
    admin: PlatformAdmin,
    session: Session,
    response: Response,
    if_match: Annotated[str | None, Header(alias="If-Match", max_length=64)] = None,
) -> AdministrationRead:
    """Change names, kind, parent or the active flag (platform administrators)."""
    updated = await service.update_administration(
        session,
        administration_id=administration_id,
        changes=body,
        expected_version=_expected_version(if_match),
    )
    response.headers["ETag"] = _etag(updated.version)
    return updated
