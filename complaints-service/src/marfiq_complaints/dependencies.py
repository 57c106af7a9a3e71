"""Annotated dependencies of the complaints service: settings, rules, clock, storage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from marfiq_complaints.lifecycle import Policy
from marfiq_complaints.settings import ComplaintsSettings
from marfiq_shared.storage import Storage

Clock = Callable[[], datetime]

# Dependencies are coroutines even when they await nothing: FastAPI runs plain functions
# in a worker thread, a hop that costs more than everything they do.


def system_clock() -> datetime:
    """Now, in UTC (tests pass a clock of their own to `create_app`)."""
    return datetime.now(UTC)


async def _settings(request: Request) -> ComplaintsSettings:
    settings: ComplaintsSettings = request.app.state.settings
    return settings


async def _policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


async def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


Settings = Annotated[ComplaintsSettings, Depends(_settings)]
Rules = Annotated[Policy, Depends(_policy)]
Now = Annotated[datetime, Depends(_now)]
Files = Annotated[Storage, Depends(_storage)]
