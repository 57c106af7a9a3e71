"""A service's busiest routes, served without FastAPI's request machinery.

Measured with py-spy (identity under `bench/bench_signin.py`, complaints under
`bench/bench_complaints.py`): between `RequestContextMiddleware` and the route function,
FastAPI's routing, dependency solving, exception middleware and response rendering took
a quarter to a third of the process's CPU, more than the route's own work. A service
places `HotRoutes` innermost, inside `RequestContextMiddleware` (request id, language,
body-size cap and metrics still apply), with a table of its hot routes: the middleware
reads the body, validates it with the route's own model, calls what serves it (which
calls the very function the FastAPI route calls), and answers what the route answers.

It serves only what it can serve identically. A body that does not validate, or a
request its serve function declines (returns None): FastAPI gets the request unchanged
(the body replayed), so every refusal of input is FastAPI's own. A refusal raised while
serving is rendered by the app's own exception handlers; what has none propagates as it
would from the route. The routes stay declared in FastAPI, for the OpenAPI document and
as that fallback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Serves a validated body: the answer's model (sent with the route's status and headers),
# a complete response (sent as it is), or None to hand the request to FastAPI.
Serve = Callable[[Request, Any], Awaitable[BaseModel | Response | None]]


@dataclass(frozen=True, slots=True)
class HotRoute:
    """One route served here: its body model, what serves it, and how it answers."""

    model: type[BaseModel] | None
    serve: Serve
    status: int
    headers: tuple[tuple[bytes, bytes], ...] = ()


class HotRoutes:
    """ASGI middleware serving `routes` (path -> route; POST, JSON bodies) for `owner`,
    the FastAPI app. The table is read on every request, not copied: tests may patch it."""

    def __init__(self, app: ASGIApp, *, owner: FastAPI, routes: Mapping[str, HotRoute]) -> None:
        self.app = app
        self.owner = owner
        self.routes = routes
        self._fastapi_routes: dict[str, Route] | None = None

    def _route(self, path: str) -> Route | None:
        # The FastAPI route of a path, for the metrics label RequestContextMiddleware reads.
        if self._fastapi_routes is None:
            self._fastapi_routes = {
                route.path: route
                for route in self.owner.routes
                if isinstance(route, Route)
                and route.path in self.routes
                and "POST" in (route.methods or ())
            }
        return self._fastapi_routes.get(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if hot is None or scope["method"] != "POST" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            raw = await request.body()
            body = hot.model.model_validate_json(raw) if hot.model is not None else None
        except ValidationError:
            await self.app(scope, replaying(raw, receive), send)
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
            await self.app(scope, replaying(raw, receive), send)
            return
        if isinstance(answer, Response):
            await answer(scope, receive, send)
            return
        await send_json(send, hot.status, answer, hot.headers)

    async def _refuse(self, request: Request, error: Exception, send: Send) -> None:
        await refuse(self.owner, request, error, send)


async def send_json(
    send: Send, status: int, answer: BaseModel, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Send `answer` as the JSON body of a complete response."""
    content = answer.model_dump_json().encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-length", str(len(content)).encode()),
                (b"content-type", b"application/json"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


async def refuse(owner: FastAPI, request: Request, error: Exception, send: Send) -> None:
    """Answer as `owner`'s exception handlers would; without one, raise as a route does."""
    handler = _handler_for(owner, error)
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


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
