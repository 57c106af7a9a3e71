"""Every failure leaves a service as RFC 9457 problem JSON, localised, never a bare 500."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from marfiq_shared.db import ConnectionLost
from marfiq_shared.middleware import RequestContextMiddleware
from marfiq_shared.problems import Conflict, install_problem_handlers


class ThingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=50)
    count: int


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things", status_code=201)
    async def create(thing: ThingCreate) -> ThingCreate:
        if thing.name == "taken":
            raise Conflict("name taken")
        return thing

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret database password in here")

    @app.get("/lost")
    async def lost() -> None:
        # What a driver transaction raises when the database restarted under it.
        try:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation")
        except asyncpg.PostgresError as error:
            raise ConnectionLost(str(error)) from error

    @app.get("/cannot-connect-now")
    async def cannot_connect_now() -> None:
        # What checking a connection out of the pool raises while Postgres shuts down.
        raise asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")

    @app.get("/not-the-database")
    async def not_the_database() -> None:
        raise ConnectionResetError("an HTTP call of ours, not the database")

    app.add_middleware(RequestContextMiddleware, service="test", max_body_bytes=2048)
    return app


@pytest.fixture
async def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"https://marfiq.ma/problems/{code}"
    assert body["status"] == status
    assert body["title"]
    return body


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/things", content=b'{"name": "a",', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "malformed-json")


async def test_wrong_types_list_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "", "count": "many"})
    body = assert_problem(response, 422, "validation-error")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"name", "count"}


async def test_unknown_field_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "a", "count": 1, "admin": True})
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["field"] == "admin"


async def test_oversized_body_is_413_before_parsing(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "a" * 5000, "count": 1})
    assert_problem(response, 413, "payload-too-large")


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(10):
            yield b"x" * 1000

    response = await client.post(
        "/things", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_business_error_keeps_its_detail(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "taken", "count": 1})
    body = assert_problem(response, 409, "conflict")
    assert body["detail"] == "name taken"


async def test_unknown_route_and_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/nowhere"), 404, "not-found")
    assert_problem(await client.delete("/things"), 405, "method-not-allowed")


async def test_unexpected_error_is_500_problem_without_leak(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    body = assert_problem(response, 500, "internal-error")
    assert "password" not in response.text
    assert "detail" not in body


async def test_a_lost_database_connection_is_503_to_retry(client: httpx.AsyncClient) -> None:
    response = await client.get("/lost")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "1"
    assert_problem(await client.get("/not-the-database"), 500, "internal-error")


@pytest.mark.parametrize("path", ["/lost", "/cannot-connect-now", "/not-the-database"])
async def test_database_and_network_errors_are_answered_without_raising_to_the_server(
    path: str,
) -> None:
    # An error that escapes the app makes uvicorn close the connection after the answer,
    # under the gateway's pooled connection: its next request there failed as a 502.
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get(path)
    assert response.status_code == (500 if path == "/not-the-database" else 503)


async def test_titles_follow_accept_language(client: httpx.AsyncClient) -> None:
    titles = {}
    for language in ("ar", "fr", "en"):
        response = await client.get("/nowhere", headers={"accept-language": f"{language};q=0.9"})
        titles[language] = response.json()["title"]
        assert response.headers["content-language"] == language
    assert titles["en"] == "The resource was not found."
    assert titles["fr"] == "La ressource est introuvable."
    assert titles["ar"] == "المورد غير موجود."


async def test_request_id_is_stamped_or_kept(client: httpx.AsyncClient) -> None:
    generated = await client.get("/nowhere")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/nowhere", headers={"x-request-id": "abc-123-def"})
    assert kept.headers["x-request-id"] == "abc-123-def"
    forged = await client.get("/nowhere", headers={"x-request-id": "bad id\nwith newline"})
    assert forged.headers["x-request-id"] != "bad id\nwith newline"
