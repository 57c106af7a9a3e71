"""The directory's rules: unique codes, a parent that exists, no cycles, one event per change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marfiq_identity.administrations import repository, search
from marfiq_identity.administrations.errors import (
    AdministrationCodeTaken,
    AdministrationHierarchyCycle,
    AdministrationNotFound,
    ParentAdministrationNotFound,
    VersionMismatch,
)
from marfiq_identity.administrations.models import Administration, AdministrationKind
from marfiq_identity.administrations.schemas import (
    AdministrationCreate,
    AdministrationPage,
    AdministrationRead,
    AdministrationUpdate,
)
from marfiq_shared.events.catalogue import AdministrationCreated, AdministrationUpdated
from marfiq_shared.events.outbox import add_event
from marfiq_shared.pagination import InvalidCursor, decode_cursor, encode_cursor


def _search_columns(*, code: str, name_ar: str, name_fr: str) -> dict[str, str]:
    return {
        "search_document": search.search_document(name_ar, name_fr, code),
        "sort_name": search.sort_key(name_fr),
    }


def _snapshot(administration: Administration, *, now: datetime) -> dict[str, Any]:
    return {
        "id": administration.id,
        "code": administration.code,
        "name_ar": administration.name_ar,
        "name_fr": administration.name_fr,
        "kind": administration.kind,
        "parent_id": administration.parent_id,
        "active": administration.active,
        "version": administration.version,
        "occurred_at": now,
    }


async def add_if_absent(
    session: AsyncSession,
    *,
    data: AdministrationCreate,
    administration_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> AdministrationRead | None:
    """Add an administration and publish `identity.administration.created`; None when
    its code is already used."""
    now = now or datetime.now(UTC)
    if data.parent_id is not None and not await repository.exists(session, data.parent_id):
        raise ParentAdministrationNotFound()
    created = await repository.insert_unless_code_taken(
        session,
        {
            "id": administration_id or uuid.uuid4(),
            "code": data.code,
            "name_ar": data.name_ar,
            "name_fr": data.name_fr,
            "kind": data.kind.value,
            "parent_id": data.parent_id,
            "active": True,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            **_search_columns(code=data.code, name_ar=data.name_ar, name_fr=data.name_fr),
        },
    )
    if created is None:
        return None
    await add_event(
        session, AdministrationCreated(**_snapshot(created, now=now)), subject=str(created.id)
    )
    return AdministrationRead.model_validate(created)


async def create_administration(
    session: AsyncSession, *, data: AdministrationCreate, now: datetime | None = None
) -> AdministrationRead:
    """Add an administration; a code already in use is `AdministrationCodeTaken`."""
    created = await add_if_absent(session, data=data, now=now)
    if created is None:
        raise AdministrationCodeTaken(administration_code=data.code)
    return created


async def update_administration(
    session: AsyncSession,
    *,
    administration_id: uuid.UUID,
    changes: AdministrationUpdate,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> AdministrationRead:
    """Apply the given fields; publish `identity.administration.updated` when one changed."""
    administration = await repository.get(session, administration_id, for_update=True)
    if administration is None:
        raise AdministrationNotFound()
    if expected_version is not None and expected_version != administration.version:
        raise VersionMismatch(current_version=administration.version)
    values = changes.model_dump(exclude_unset=True)
    for field in ("name_ar", "name_fr", "kind", "active"):
        if field in values and values[field] is None:
            del values[field]  # null means "unchanged" for fields that cannot be empty
    if values.get("parent_id") is not None:
        await _check_parent(session, administration_id, values["parent_id"])
    if isinstance(values.get("kind"), AdministrationKind):
        values["kind"] = values["kind"].value
    changed = {
        name: value for name, value in values.items() if getattr(administration, name) != value
    }
    if not changed:
        return AdministrationRead.model_validate(administration)
    now = now or datetime.now(UTC)
    for name, value in changed.items():
        setattr(administration, name, value)
    for name, value in _search_columns(
        code=administration.code, name_ar=administration.name_ar, name_fr=administration.name_fr
    ).items():
        setattr(administration, name, value)
    administration.version += 1
    administration.updated_at = now
    await session.flush()
    await add_event(
        session,
        AdministrationUpdated(**_snapshot(administration, now=now)),
        subject=str(administration.id),
    )
    return AdministrationRead.model_validate(administration)


async def _check_parent(
    session: AsyncSession, administration_id: uuid.UUID, parent_id: uuid.UUID
) -> None:
    if not await repository.exists(session, parent_id):
        raise ParentAdministrationNotFound()
    if administration_id in await repository.ancestor_ids(session, parent_id):
        raise AdministrationHierarchyCycle()


async def get_administration(
    session: AsyncSession, *, administration_id: uuid.UUID
) -> AdministrationRead:
    """One administration, active or not."""
    administration = await repository.get(session, administration_id)
    if administration is None:
        raise AdministrationNotFound()
    return AdministrationRead.model_validate(administration)


def _position(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        return str(position["n"]), uuid.UUID(str(position["i"]))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor() from exc


async def list_administrations(
    session: AsyncSession,
    *,
    q: str | None,
    kind: AdministrationKind | None,
    parent_id: uuid.UUID | None,
    include_inactive: bool,
    limit: int,
    cursor: str | None,
) -> AdministrationPage:
    """A page of the directory in name order, optionally matching `q` (names or code)."""
    tsquery = search.prefix_query(q) if q else None
    rows = await repository.page(
        session,
        tsquery=tsquery,
        kind=kind.value if kind else None,
        parent_id=parent_id,
        include_inactive=include_inactive,
        after=_position(cursor),
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"n": last.sort_name, "i": str(last.id)})
    return AdministrationPage(
        items=[AdministrationRead.model_validate(row) for row in rows[:limit]],
        next_cursor=next_cursor,
    )
