"""The four sign-in routes, served by `marfiq_shared.hot_routes` without FastAPI's
request machinery.

Measured with py-spy under `bench/bench_signin.py`: FastAPI's routing, dependency solving,
exception middleware and response rendering took about 30% of the identity process's CPU,
more than the sign-in work itself. Each route here calls the very function its FastAPI
route calls. An eID answer carrying a bearer token (tying the card to an account) is
declined, so FastAPI checks the token and serves it.
"""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request

from marfiq_identity.dependencies import address_of, device_of
from marfiq_identity.eid.schemas import EidVerify
from marfiq_identity.otp.api import answer_code, ask_for_code
from marfiq_identity.otp.schemas import OtpRequest, OtpVerify
from marfiq_identity.signin.api import hand_out_nonce, sign_in_with_card
from marfiq_shared.hot_routes import HotRoute

_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


async def _ask_for_code(request: Request, body: OtpRequest) -> BaseModel:
    state = request.app.state
    return await ask_for_code(
        body,
        database=state.db,
        settings=state.settings,
        postman=state.postman,
        hasher=state.code_hasher,
        address=await address_of(request),
    )


async def _answer_code(request: Request, body: OtpVerify) -> BaseModel:
    state = request.app.state
    return await answer_code(
        body,
        database=state.db,
        settings=state.settings,
        hasher=state.code_hasher,
        keyring=state.keyring,
        device=await device_of(request),
        worker=state.delivery_worker,
    )


async def _hand_out_nonce(request: Request, body: None) -> BaseModel:
    state = request.app.state
    return await hand_out_nonce(database=state.db, settings=state.settings)


async def _sign_in_with_card(request: Request, body: EidVerify) -> BaseModel | None:
    if "authorization" in request.headers:
        return None  # tying the card to the caller's account: FastAPI checks the token
    state = request.app.state
    return await sign_in_with_card(
        body,
        database=state.db,
        settings=state.settings,
        keyring=state.keyring,
        trust=state.eid_trust,
        linking=None,
        device=await device_of(request),
        worker=state.delivery_worker,
    )


ROUTES: dict[str, HotRoute] = {
    "/v1/auth/otp": HotRoute(OtpRequest, _ask_for_code, 202),
    "/v1/auth/otp/verify": HotRoute(OtpVerify, _answer_code, 200, tuple(_NO_STORE)),
    "/v1/auth/eid/challenge": HotRoute(None, _hand_out_nonce, 201),
    "/v1/auth/eid/verify": HotRoute(EidVerify, _sign_in_with_card, 200, tuple(_NO_STORE)),
}
