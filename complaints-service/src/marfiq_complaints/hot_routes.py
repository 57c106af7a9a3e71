"""The citizen's filing, `POST /v1/complaints`, served without FastAPI's request machinery.

py-spy of the complaints process under `bench/bench_complaints.py`: uvicorn and FastAPI
layers took about a quarter of its CPU and dependency solving another 14-19%, more than
the filing's own logic. `marfiq_shared.hot_routes` serves the route here with the route's
own body model, the same dependencies called in the same order (token, citizen, driver
transaction committed before the answer, rules, clock) and the same function doing the
filing and shaping the answer (`complaints.api.file`).

A request with an `Idempotency-Key` goes to FastAPI, which validates the header; so do
bodies that do not validate, whose refusal is FastAPI's own.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from marfiq_complaints.complaints import api as complaints_api
from marfiq_complaints.complaints.schemas import ComplaintCreate
from marfiq_complaints.dependencies import Clock
from marfiq_shared.auth import current_principal, require_citizen
from marfiq_shared.db import Database
from marfiq_shared.hot_routes import HotRoute


async def _file_complaint(request: Request, body: ComplaintCreate) -> Response | None:
    if "idempotency-key" in request.headers:
        return None
    citizen = await require_citizen(await current_principal(request))
    state = request.app.state
    database: Database = state.db
    clock: Clock = state.clock
    async with database.driver_transaction() as transaction:
        # Committed when the block ends, before anything is sent: never a 201 for a
        # filing whose commit failed (the route's dependency is function-scoped alike).
        return await complaints_api.file(
            transaction,
            citizen=citizen,
            body=body,
            path=request.url.path,
            policy=state.policy,
            now=clock(),
            idempotency_key=None,
        )


ROUTES: dict[str, HotRoute] = {
    # status and headers come with the route's own Response
    "/v1/complaints": HotRoute(ComplaintCreate, _file_complaint, 201),
}
