"""`HotRoutes` serves a table of routes as FastAPI would, and hands it anything else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware import Middleware
from starlette.responses import Response

from marfiq_shared.hot_routes import HotRoute, HotRoutes
from marfiq_shared.middleware import RequestContextMiddleware
from marfiq_shared.problems import Conflict, Forbidden, install_problem_handlers


class ThingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    count: int


class ThingCreated(BaseModel):
    name: str
    total: int


def make(thing: ThingCreate, *, caller: str) -> ThingCreated:
    """What the route and the hot route both call."""
    if thing.name == "taken":
        raise Conflict("name taken")
    if thing.name == "boom":
        raise RuntimeError("no handler for this one")
    if caller == "guest":
        raise Forbidden()
    return ThingCreated(name=thing.name, total=thing.count * 2)


async def caller_of(request: Request) -> str:
    return request.headers.get("x-caller", "guest")


async def _serve_thing(request: Request, body: ThingCreate) -> BaseModel | None:
    if "x-fastapi" in request.headers:
        return None  # something this path does not handle
    request.app.state.seen.append("thing")
    return make(body, caller=await caller_of(request))


async def _serve_ping(request: Request, body: None) -> Response:
    request.app.state.seen.append("ping")
    return JSONResponse({"pong": True}, status_code=202, headers={"location": "/ping/1"})


def build_app(*, hot: bool) -> FastAPI:
    """One app; with `hot`, its two POST routes served by `HotRoutes`."""
    app = FastAPI()
    install_problem_handlers(app)
    seen: list[str] = []
    app.state.seen = seen

    @app.post("/things", status_code=201, response_model=ThingCreated)
    async def create(
        thing: ThingCreate, caller: Annotated[str, Depends(caller_of)]
    ) -> ThingCreated:
        response = make(thing, caller=caller)
        seen.append("fastapi")
        return response

    @app.get("/things")
    async def read() -> dict[str, str]:
        seen.append("fastapi")
        return {"things": "none"}

    @app.post("/ping")
    async def ping() -> Response:
        seen.append("fastapi")
        return JSONResponse({"pong": True}, status_code=202, headers={"location": "/ping/1"})

    app.add_middleware(RequestContextMiddleware, service="test", max_body_bytes=2048)
    if hot:
        routes = {
            "/things": HotRoute(ThingCreate, _serve_thing, 201, ((b"cache-control", b"no-store"),)),
            "/ping": HotRoute(None, _serve_ping, 200),
        }
        app.user_middleware.append(Middleware(HotRoutes, owner=app, routes=routes))

    return app


@pytest.fixture
async def apps() -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient]]:
    hot_app, plain_app = build_app(hot=True), build_app(hot=False)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=hot_app, raise_app_exceptions=False),
            base_url="http://test",
        ) as hot,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=plain_app, raise_app_exceptions=False),
            base_url="http://test",
        ) as plain,
    ):
        yield hot_app, hot, plain


def _shape(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    body = answer.json()
    if isinstance(body, dict):
        body.pop("instance", None)
    headers = {
        name: answer.headers.get(name, "")
        for name in ("content-type", "content-length", "location", "content-language")
    }
    return answer.status_code, headers, body


JSON = {"content-type": "application/json"}
MEMBER = {"x-caller": "member"}


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "served"),
    [
        ("POST", "/things", {"json": {"name": "a", "count": 2}, "headers": MEMBER}, 201, "thing"),
        ("POST", "/things", {"json": {"name": "a", "count": 2}}, 403, "thing"),
        (
            "POST",
            "/things",
            {"json": {"name": "taken", "count": 1}, "headers": MEMBER},
            409,
            "thing",
        ),
        ("POST", "/things", {"json": {"name": "", "count": 1}, "headers": MEMBER}, 422, None),
        ("POST", "/things", {"json": {"name": "a", "count": 1, "x": 1}}, 422, None),
        ("POST", "/things", {"content": b'{"name": ', "headers": JSON | MEMBER}, 400, None),
        ("POST", "/things", {"content": b"", "headers": JSON | MEMBER}, 422, None),
        (
            "POST",
            "/things",
            {"json": {"name": "a", "count": 2}, "headers": MEMBER | {"x-fastapi": "1"}},
            201,
            None,
        ),
        ("POST", "/things", {"content": b'{"name":"a","count":2}', "headers": MEMBER}, 422, None),
        (
            "POST",
            "/things",
            {"content": b"name=a", "headers": {"content-type": "text/plain"}},
            422,
            None,
        ),
        ("GET", "/things", {}, 200, None),
        ("POST", "/ping", {"json": {}}, 202, "ping"),
        ("POST", "/things", {"content": b"x" * 3000, "headers": JSON}, 413, None),
    ],
)
async def test_answers_are_fastapis_and_served_here_only_when_they_can_be(
    apps: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    served: str | None,
) -> None:
    hot_app, hot, plain = apps

    here = await hot.request(method, path, **kwargs)
    there = await plain.request(method, path, **kwargs)

    assert _shape(here) == _shape(there)
    assert here.status_code == status
    assert len(here.headers["x-request-id"]) >= 8
    assert hot_app.state.seen == ([served] if served else ["fastapi"] if status < 400 else [])


async def test_a_streamed_body_over_the_cap_is_refused_as_fastapi_refuses_it(
    apps: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    hot_app, hot, plain = apps

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the cap is met while the body is read.
        for _ in range(3):
            yield b"x" * 1000

    here = await hot.post("/things", content=chunks(), headers=JSON)
    there = await plain.post("/things", content=chunks(), headers=JSON)

    assert "content-length" not in here.request.headers
    assert _shape(here) == _shape(there)
    assert here.status_code == 413
    assert hot_app.state.seen == []


async def test_a_models_answer_carries_the_routes_status_and_headers(
    apps: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, hot, _ = apps

    answer = await hot.post("/things", json={"name": "a", "count": 4}, headers=MEMBER)

    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {"name": "a", "total": 8}


async def test_an_error_without_handler_is_a_500_problem_as_from_the_route(
    apps: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    hot_app, hot, plain = apps
    body = {"name": "boom", "count": 1}

    here = await hot.post("/things", json=body, headers=MEMBER)
    there = await plain.post("/things", json=body, headers=MEMBER)

    assert _shape(here) == _shape(there)
    assert here.status_code == 500
    assert hot_app.state.seen == ["thing"]


async def test_a_request_served_here_is_counted_under_its_post_route(
    apps: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, hot, _ = apps

    await hot.post("/things", json={"name": "counted", "count": 1}, headers=MEMBER)

    metrics = generate_latest(REGISTRY).decode()
    assert 'method="POST",route="/things",service="test",status="201"' in metrics
