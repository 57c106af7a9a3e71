"""The four sign-in routes, served without FastAPI's request machinery.

Measured with py-spy under `bench/bench_signin.py`: between `RequestContextMiddleware` and
the route function, FastAPI's routing, dependency solving, exception middleware and
response rendering took about 30% of the identity process's CPU, more than the sign-in
work itself. These routes are the platform's busiest, so this middleware, placed inside
`RequestContextMiddleware` (request id, language, body-size cap and metrics still apply),
serves them directly: it reads the body, validates it with the route's own model, calls
the very function the FastAPI route calls, and answers what the route answers.

It serves only what it can serve identically. A body that does not validate, an eID
answer carrying a bearer token (tying the card to an account), anything else: FastAPI
gets the request unchanged (the body replayed), so every refusal of input is FastAPI's
own. A refusal raised by the sign-in is rendered by the app's own exception handlers;
what has none propagates as it would from the route. The routes stay declared in FastAPI,
for the OpenAPI document and as that fallback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marfiq_identity.dependencies import address_of, device_of
from marfiq_identity.eid.schemas import EidVerify
from marfiq_identity.otp.api import answer_code, ask_for_code
from marfiq_identity.otp.schemas import OtpRequest, OtpVerify
from marfiq_identity.signin.api import hand_out_nonce, sign_in_with_card

_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]

# Serves a validated body: the answer's model, or None to hand the request to FastAPI.
Serve = Callable[[Request, Any], Awaitable[BaseModel | None]]


@dataclass(frozen=True, slots=True)
class HotRoute:
    """One route served here: its body model, what serves it, and how it answers."""

    model: type[BaseModel] | None
    serve: Serve
    status: int
    headers: tuple[tuple[bytes, bytes], ...] = ()


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


class HotRoutes:
    """ASGI middleware serving `ROUTES` (POST, JSON bodies) for `owner`, the FastAPI app."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner
        self._routes: dict[str, Route] | None = None

    def _route(self, path: str) -> Route | None:
        # The FastAPI route of a path, for the metrics label RequestContextMiddleware reads.
        if self._routes is None:
            self._routes = {
                route.path: route
                for route in self.owner.routes
                if isinstance(route, Route) and route.path in ROUTES
            }
        return self._routes.get(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if hot is None or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            raw = await request.body()
            body = hot.model.model_validate_json(raw) if hot.model is not None else None
        except ValidationError:
            await self.app(scope, _replaying(raw, receive), send)
            return
        except Exception as error:  # the body-size cap, a client gone
            await self._refuse(request, error, send)
            return
        scope["route"] = self._route(scope["path"])
        try:
            answer = await hot.serve(request, body)
        except Exception as error:
            await self._refuse(request, error, send)
            return
        if answer is None:
            await self.app(scope, _replaying(raw, receive), send)
            return
        content = answer.model_dump_json().encode()
        await send(
            {
                "type": "http.response.start",
                "status": hot.status,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", b"application/json"),
                    *hot.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def _refuse(self, request: Request, error: Exception, send: Send) -> None:
        """Answer as the app's exception handlers would; without one, raise as a route does."""
        handler = _handler_for(self.owner, error)
        if handler is None:
            raise error
        response: Response = await handler(request, error)
        await response(request.scope, request.receive, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


def _handler_for(app: FastAPI, error: Exception) -> Callable[..., Any] | None:
    """The app's handler of `error`'s class, nearest first; None for the catch-all
    `Exception` one, which ServerErrorMiddleware applies (and then re-raises)."""
    for kind in type(error).__mro__:
        if kind is Exception:
            return None
        handler = app.exception_handlers.get(kind)
        if handler is not None:
            return handler  # type: ignore[no-any-return]
    return None


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
