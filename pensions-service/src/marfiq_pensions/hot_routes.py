"""The citizen's simulation, `POST /v1/pensions/me/simulations`, served without FastAPI's
request machinery.

Under `bench/bench_pensions.py` a simulation cost the service 1.1-1.3 ms of CPU, about 70%
of it in uvicorn, Starlette, FastAPI's dependency solving and the shared middleware rather
than in the simulation. `marfiq_shared.hot_routes` serves the route here with the route's
own body model, the same dependencies called in the same order (token, proven citizen),
the same read connection and the same function computing the estimate
(`careers.service.simulation`). Bodies that do not validate go to FastAPI, whose refusal
(with the token checked first) is its own.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request

from marfiq_pensions.affiliates.access import cin_of, require_proven_citizen
from marfiq_pensions.careers import service
from marfiq_pensions.careers.schemas import SimulationCreate
from marfiq_shared.auth import current_principal
from marfiq_shared.hot_routes import HotRoute


async def _simulate(request: Request, body: SimulationCreate) -> BaseModel:
    citizen = await require_proven_citizen(await current_principal(request))
    state = request.app.state
    async with state.read_pool.acquire() as connection:
        return await service.simulation(
            connection, cin=cin_of(citizen), data=body, catalogue=state.regimes, now=state.clock()
        )


ROUTES: dict[str, HotRoute] = {
    # 200 with the estimate as JSON, as the FastAPI route answers it
    "/v1/pensions/me/simulations": HotRoute(SimulationCreate, _simulate, 200),
}
