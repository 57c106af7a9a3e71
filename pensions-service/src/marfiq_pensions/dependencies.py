"""Annotated dependencies of the pensions service: settings, clock, regimes, workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from marfiq_pensions.regimes import RegimeCatalogue
from marfiq_pensions.settings import PensionsSettings

Clock = Callable[[], datetime]
LOCAL = ZoneInfo("Africa/Casablanca")


def system_clock() -> datetime:
    """Now, in UTC (tests pass a clock of their own to `create_app`)."""
    return datetime.now(UTC)


def local_day(moment: datetime) -> date:
    """The day it is in Morocco at `moment`."""
    return moment.astimezone(LOCAL).date()


def month_of(day: date) -> date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


# Dependencies are coroutines: FastAPI would run plain functions in a thread pool, which
# costs more than what they do.


async def _settings(request: Request) -> PensionsSettings:
    settings: PensionsSettings = request.app.state.settings
    return settings


async def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


async def _catalogue(request: Request) -> RegimeCatalogue:
    catalogue: RegimeCatalogue = request.app.state.regimes
    return catalogue


Settings = Annotated[PensionsSettings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]
Regimes = Annotated[RegimeCatalogue, Depends(_catalogue)]
