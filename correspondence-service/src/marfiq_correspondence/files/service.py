"""Uploading files, and deleting those never attached."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterable, Callable
from datetime import datetime, timedelta

from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.files import repository
from marfiq_correspondence.files.schemas import FileRead
from marfiq_shared.db import Database
from marfiq_shared.storage import Storage

log = logging.getLogger(__name__)


def storage_key(file_id: uuid.UUID, at: datetime) -> str:
    """Files grouped by month, so that a folder never holds millions of entries."""
    return f"files/{at:%Y/%m}/{file_id}"


async def upload(
    *,
    database: Database,
    storage: Storage,
    viewer: Viewer,
    chunks: AsyncIterable[bytes],
    filename: Callable[[], str],
    max_bytes: int,
    now: datetime,
) -> FileRead:
    """Stream a file to storage, then record it. Whatever fails half-way (a refused type,
    the size limit, the client leaving, the database) leaves neither file nor record.

    No database connection is held while the bytes arrive: a slow client must not hold
    one of the pool's connections for minutes. `filename` is asked once the stream ended
    (the name is in the part's headers).
    """
    file_id = uuid.uuid4()
    stored = await storage.put(storage_key(file_id, now), chunks, max_bytes=max_bytes)
    try:
        values = {
            "id": file_id,
            "owner_sub": viewer.sub,
            "owner_administration_id": viewer.administration_id,
            "filename": filename(),
            "content_type": stored.content_type,
            "size": stored.size,
            "sha256": stored.sha256,
            "storage_key": stored.key,
            "created_at": now,
            "attached_at": None,
        }
        await repository.add(database, values)
    except BaseException:
        # Shielded: a cancelled request must still not leave the file behind.
        await asyncio.shield(storage.delete(stored.key))
        raise
    return FileRead.model_validate(values)


async def sweep_unattached(
    *, database: Database, storage: Storage, older_than: timedelta, now: datetime, batch: int = 500
) -> int:
    """Delete files uploaded long ago and never attached; returns how many."""
    removed = 0
    while True:
        async with database.sessionmaker() as session, session.begin():
            stale = await repository.stale_unattached(session, before=now - older_than, limit=batch)
            if not stale:
                return removed
            await repository.remove(session, [item.id for item in stale])
            keys = [item.storage_key for item in stale]
        for key in keys:
            with contextlib.suppress(OSError):
                await storage.delete(key)
        removed += len(keys)
        if len(keys) < batch:
            return removed
