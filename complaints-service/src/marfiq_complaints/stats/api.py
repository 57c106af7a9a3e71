"""The public statistics route (no token)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from marfiq_complaints.deadlines import local_day
from marfiq_complaints.dependencies import Now, Settings
from marfiq_complaints.stats import service
from marfiq_complaints.stats.cache import TtlCache
from marfiq_complaints.stats.schemas import StatsPage
from marfiq_shared.db import Database
from marfiq_shared.pagination import Cursor, Limit

router = APIRouter(prefix="/v1/complaints", tags=["statistics"])

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


@router.get("/stats", response_model=StatsPage)
async def statistics(
    request: Request,
    response: Response,
    settings: Settings,
    now: Now,
    from_month: Annotated[
        str | None, Query(alias="from", pattern=MONTH, description="YYYY-MM")
    ] = None,
    to_month: Annotated[str | None, Query(alias="to", pattern=MONTH, description="YYYY-MM")] = None,
    administration_id: uuid.UUID | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> StatsPage:
    """Per administration, for the months from `from` to `to` (default: the last twelve):
    received, answered, answered on time, median days to answer; and open overdue now."""
    response.headers["Cache-Control"] = f"public, max-age={settings.stats_cache_s}"
    cache: TtlCache[StatsPage] = request.app.state.stats_cache
    database: Database = request.app.state.db

    async def compute() -> StatsPage:
        # A session of its own: the computation may outlive the request that started it.
        async with database.sessionmaker() as session:
            return await service.read_stats(
                session,
                from_month=from_month,
                to_month=to_month,
                administration_id=administration_id,
                limit=limit,
                cursor=cursor,
                now=now,
            )

    # The current month is part of the key: the default period moves with it.
    key = (from_month, to_month, administration_id, limit, cursor, f"{local_day(now):%Y-%m}")
    return await cache.get(key, compute)
