"""Routes of the citizen's career: periods, contribution lines, simulations."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from marfiq_pensions.affiliates.access import MyFile, ProvenCitizen, cin_of
from marfiq_pensions.careers import service
from marfiq_pensions.careers.schemas import (
    CareerRead,
    ContributionPage,
    EstimateRead,
    SimulationCreate,
)
from marfiq_shared.db import Session
from marfiq_shared.pagination import Cursor, Limit

router = APIRouter(prefix="/v1/pensions/me", tags=["career"])


@router.get("/career", response_model=CareerRead)
async def my_career(holder: MyFile, session: Session) -> CareerRead:
    """Periods of service with their salaries and contributions, oldest first."""
    return await service.career_of(session, affiliate=holder.affiliate)


@router.get("/contributions", response_model=ContributionPage)
async def my_contributions(
    holder: MyFile, session: Session, limit: Limit = 50, cursor: Cursor = None
) -> ContributionPage:
    """Monthly contribution lines declared by employers, newest first."""
    return await service.contributions_of(
        session, affiliate=holder.affiliate, cursor=cursor, limit=limit
    )


@router.post("/simulations", response_model=EstimateRead)
async def simulate_my_pension(
    data: SimulationCreate, citizen: ProvenCitizen, request: Request
) -> Response:
    """Estimate the monthly pension for a retirement date, on the caller's own career, with
    its breakdown (years counted, reference salary, rate per period)."""
    # The hot route of the service, served by `marfiq_pensions.hot_routes` without FastAPI's
    # machinery; this route declares it for the OpenAPI document and answers what that one
    # hands over (bodies that do not validate). Both call `service.simulation` on a
    # connection of the read pool, and the answer is serialised once (FastAPI would
    # validate the model again before dumping it).
    state = request.app.state
    async with state.read_pool.acquire() as connection:
        estimate = await service.simulation(
            connection, cin=cin_of(citizen), data=data, catalogue=state.regimes, now=state.clock()
        )
    return Response(estimate.model_dump_json(), media_type="application/json")
