"""Embedded mode: the same contract when the services are ASGI apps in this process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from conftest import MAX_BODY, OWNERS, Hooks, KeyRing, Served, echo_app, settings
from starlette.types import ASGIApp, Receive, Scope, Send

from marfiq_gateway.app import create_gateway_app

PROBLEM = "application/problem+json"


def identity_app(ring: KeyRing, hooks: Hooks, lifespans: list[str]) -> ASGIApp:
    """Echo, plus the JWKS the gateway must find by itself, plus a lifespan we can observe."""
    echo = echo_app("identity", hooks)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                lifespans.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["path"] == "/.well-known/jwks.json":
            body = json.dumps(ring.jwks()).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["path"] == "/v1/me/broken":
            raise RuntimeError("bug in a service")
        await echo(scope, receive, send)

    return app


@pytest.fixture(scope="module")
async def embedded(ring: KeyRing) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    hooks = Hooks()
    lifespans: list[str] = []
    apps: dict[str, ASGIApp] = {owner: echo_app(owner, hooks) for owner in OWNERS}
    apps["identity"] = identity_app(ring, hooks, lifespans)
    gateway = create_gateway_app(settings(), upstreams=apps, manage_upstream_lifespans=True)
    served = Served(gateway, lifespan="on")
    await served.start()
    async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
        yield client, lifespans
    await served.stop()
    assert lifespans == ["lifespan.startup", "lifespan.shutdown"]


async def test_in_process_service_gets_the_request_unchanged(
    embedded: tuple[httpx.AsyncClient, list[str]], ring: KeyRing
) -> None:
    client, lifespans = embedded
    assert lifespans == ["lifespan.startup"]
    response = await client.post(
        "/v1/complaints/9/answer?x=1",
        content=b"hello",
        headers={
            "Authorization": f"Bearer {ring.token()}",
            "X-Marfiq-User": "admin",
            "X-Request-ID": "req-embedded-1",
        },
    )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert (echo["owner"], echo["path"], echo["query"]) == (
        "complaints",
        "/v1/complaints/9/answer",
        "x=1",
    )
    headers = dict(echo["headers"])
    assert "x-marfiq-user" not in headers
    assert headers["x-request-id"] == "req-embedded-1"
    assert response.headers["x-request-id"] == "req-embedded-1"


async def test_in_process_refusals_match_distributed_mode(
    embedded: tuple[httpx.AsyncClient, list[str]], ring: KeyRing, timer: Callable[[], float]
) -> None:
    client, _ = embedded
    auth = {"Authorization": f"Bearer {ring.token()}"}
    assert (await client.get("/v1/me")).status_code == 401

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY // (1024 * 1024) + 1):
            yield b"x" * 1024 * 1024

    too_large = await client.post("/v1/files", content=chunked(), headers=auth)
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == PROBLEM

    started = timer()
    slow = await client.get("/v1/pensions/slow", headers=auth)
    assert slow.status_code == 504
    assert timer() - started < 2.5

    broken = await client.get("/v1/me/broken", headers=auth)
    assert broken.status_code == 502
    assert broken.headers["content-type"] == PROBLEM


async def test_in_process_openapi_is_merged(
    embedded: tuple[httpx.AsyncClient, list[str]],
) -> None:
    client, _ = embedded
    document = (await client.get("/openapi.json")).json()
    assert {"/v1/me", "/v1/correspondence", "/v1/complaints", "/v1/pensions/me"} <= set(
        document["paths"]
    )
