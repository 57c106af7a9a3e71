"""Annotated dependencies of the correspondence service: settings, clock, storage, PKI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.db import Database
from marfiq_shared.documents import PlatformPki
from marfiq_shared.storage import Storage

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC (tests pass a clock of their own to `create_app`)."""
    return datetime.now(UTC)


# Coroutines, though they only read app.state: FastAPI runs a plain function dependency in
# a worker thread, a hop that costs more than the function (12 of them per submission).
async def _settings(request: Request) -> CorrespondenceSettings:
    settings: CorrespondenceSettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _pki(request: Request) -> PlatformPki:
    pki: PlatformPki = request.app.state.pki
    return pki


async def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


Settings = Annotated[CorrespondenceSettings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]
Files = Annotated[Storage, Depends(_storage)]
Pki = Annotated[PlatformPki, Depends(_pki)]
Db = Annotated[Database, Depends(_database)]
