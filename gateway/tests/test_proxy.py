"""Forwarding: paths unchanged, bodies streamed, headers cleaned, failures answered quickly."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable

import httpx
from conftest import MAX_BODY, OWNERS, Platform, Served, dead_url, settings

from marfiq_gateway.app import create_gateway_app

PROBLEM = "application/problem+json"


async def test_each_prefix_reaches_its_owner_with_path_query_body_unchanged(
    platform: Platform,
) -> None:
    cases = {
        "/v1/me": "identity",
        "/v1/administrations/abc/agents": "identity",
        "/v1/complaints/42/answer": "complaints",
        "/v1/correspondence/7": "correspondence",
        "/v1/files": "correspondence",
        "/v1/pensions/me/career": "pensions",
    }
    for path, owner in cases.items():
        response = await platform.client.post(
            path + "/x%2Fy",
            params={"a": "1", "b": "é"},
            content=b'{"k": "v"}',
            headers={**platform.auth(), "Content-Type": "application/json", "X-Custom": "kept"},
        )
        assert response.status_code == 200, (path, response.text)
        echo = response.json()
        assert echo["owner"] == owner
        assert echo["method"] == "POST"
        assert echo["raw_path"] == path + "/x%2Fy"
        assert echo["query"] == "a=1&b=%C3%A9"
        assert echo["body_sha256"] == hashlib.sha256(b'{"k": "v"}').hexdigest()
        headers = dict(echo["headers"])
        assert headers["x-custom"] == "kept"
        assert headers["content-type"] == "application/json"
        # Services verify the token again: it must reach them.
        assert headers["authorization"].startswith("Bearer ")
        assert response.headers["x-upstream"] == owner


async def test_unknown_path_is_a_404_problem(platform: Platform) -> None:
    for path in ("/v2/complaints", "/v1/meh", "/v1/complaintsx/1", "/"):
        response = await platform.client.get(path, headers=platform.auth())
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM


async def test_dot_segments_are_refused_before_any_routing(platform: Platform) -> None:
    # A public pattern (`/v1/documents/{code}`) must not become a way around the token:
    # clients normalise dot segments, so write the request by hand.
    port = int(platform.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /v1/documents/../me HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    await writer.drain()
    raw = await reader.read()
    writer.close()
    assert raw.startswith(b"HTTP/1.1 400"), raw[:60]


async def test_large_bodies_stream_both_ways(platform: Platform) -> None:
    chunk = os.urandom(1024 * 1024)
    hooks = platform.hooks
    hooks.first_request_chunk.clear()

    async def body() -> AsyncIterator[bytes]:
        yield chunk
        # The service has the first MiB before the client sends the rest: nothing buffers
        # the whole body on the way.
        await asyncio.wait_for(hooks.first_request_chunk.wait(), 5)
        for _ in range(11):
            yield chunk

    response = await platform.client.put("/v1/files/big", content=body(), headers=platform.auth())
    assert response.status_code == 200
    assert response.json()["body_size"] == 12 * len(chunk)
    assert response.json()["body_sha256"] == hashlib.sha256(chunk * 12).hexdigest()

    hooks.client_got_first_chunk.clear()
    async with platform.client.stream(
        "GET", "/v1/files/stream-out", headers=platform.auth()
    ) as streamed:
        assert streamed.status_code == 200
        parts = streamed.aiter_raw()
        assert await anext(parts) == b"first"  # before the service has finished answering
        hooks.client_got_first_chunk.set()
        assert b"".join([part async for part in parts]) == b"second"


async def test_client_identity_headers_never_reach_a_service(platform: Platform) -> None:
    spoofed = {
        "X-Marfiq-User": "admin",
        "X-Marfiq-Roles": "platform_admin",
        "X-User-Id": "42",
        "X-User": "admin",
        "X-Forwarded-User": "admin",
        "X-Remote-User": "admin",
        "X-Auth-Request-Email": "admin@marfiq.ma",
        "X-Principal": "admin",
        "X-Principal-Id": "admin",
        "X-Forwarded-For": "6.6.6.6",
        "X-Real-IP": "6.6.6.6",
        "Forwarded": "for=6.6.6.6",
        "Connection": "keep-alive, X-Hop",
        "X-Hop": "must go",
    }
    for path in ("/v1/me", "/v1/administrations"):  # authenticated and public alike
        response = await platform.client.get(path, headers={**platform.auth(), **spoofed})
        assert response.status_code == 200
        names = {name for name, _ in response.json()["headers"]}
        leaked = names & {name.lower() for name in spoofed if name != "Connection"} - {
            "x-forwarded-for"
        }
        assert not leaked, leaked
        headers = dict(response.json()["headers"])
        assert headers["x-forwarded-for"] == "127.0.0.1"
        assert headers["x-forwarded-proto"] == "http"
        assert "connection" not in names or headers["connection"] != "keep-alive, X-Hop"


async def test_request_id_is_propagated_or_stamped(platform: Platform) -> None:
    response = await platform.client.get(
        "/v1/me", headers={**platform.auth(), "X-Request-ID": "req-0123456789"}
    )
    assert dict(response.json()["headers"])["x-request-id"] == "req-0123456789"
    assert response.headers["x-request-id"] == "req-0123456789"

    response = await platform.client.get(
        "/v1/me", headers={**platform.auth(), "X-Request-ID": "bad id\twith junk"}
    )
    stamped = response.headers["x-request-id"]
    assert stamped != "bad id\twith junk"
    assert len(stamped) == 32
    assert dict(response.json()["headers"])["x-request-id"] == stamped
    # Errors the gateway answers itself carry it too.
    refused = await platform.client.get("/v1/me", headers={"X-Request-ID": "req-0123456789"})
    assert refused.headers["x-request-id"] == "req-0123456789"


async def test_hop_by_hop_response_headers_are_not_forwarded(platform: Platform) -> None:
    response = await platform.client.get("/v1/me", headers=platform.auth())
    assert response.headers["x-upstream"] == "identity"
    assert "connection" not in response.headers  # the service sent `Connection: keep-alive`


async def test_slow_service_is_a_504_problem_quickly(
    platform: Platform, timer: Callable[[], float]
) -> None:
    response = await platform.client.get("/v1/complaints/slow", headers=platform.auth())
    assert response.status_code == 504
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/gateway-timeout")
    assert timer() < 2.5  # read timeout is 1 s; the service would take 3 s


async def test_stopped_service_is_a_502_problem_quickly(
    platform: Platform, timer: Callable[[], float]
) -> None:
    gateway = create_gateway_app(
        settings(marfiq_jwks_url=platform.url + "/.well-known/jwks.json"),
        upstreams={owner: dead_url() for owner in OWNERS},
        jwks_fetcher=_jwks_of(platform),
    )
    served = Served(gateway, lifespan="on")
    await served.start()
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            started = timer()
            response = await client.get("/v1/pensions/me", headers=platform.auth())
            assert timer() - started < 1.0
            assert response.status_code == 502
            assert response.headers["content-type"] == PROBLEM
            assert response.json()["type"].endswith("/bad-gateway")
            ready = await client.get("/readyz")
            assert ready.status_code == 503
    finally:
        await served.stop()


async def test_oversized_body_is_a_413_problem(platform: Platform) -> None:
    too_much = b"x" * (MAX_BODY + 1)
    declared = await platform.client.post("/v1/files", content=too_much, headers=platform.auth())
    assert declared.status_code == 413
    assert declared.headers["content-type"] == PROBLEM

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(too_much), 1024 * 1024):
            yield too_much[start : start + 1024 * 1024]

    streamed = await platform.client.post("/v1/files", content=chunked(), headers=platform.auth())
    assert streamed.status_code == 413
    assert streamed.json()["type"].endswith("/payload-too-large")


async def test_gateway_health_endpoints(platform: Platform) -> None:
    assert (await platform.client.get("/livez")).status_code == 200
    ready = await platform.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {f"upstream:{owner}" for owner in OWNERS}
    metrics = await platform.client.get("/metrics")
    assert 'service="gateway"' in metrics.text


def _jwks_of(platform: Platform):  # type: ignore[no-untyped-def]
    async def fetch() -> dict:  # type: ignore[type-arg]
        return platform.ring.jwks()

    return fetch
