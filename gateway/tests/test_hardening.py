"""Gateway hardening: rate limits, circuit breaker, retries, CORS and security headers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from conftest import OWNERS, Hooks, KeyRing, Served, dead_url, echo_app, settings
from prometheus_client import REGISTRY
from starlette.types import ASGIApp, Receive, Scope, Send

from marfiq_gateway.app import create_gateway_app
from marfiq_gateway.ratelimit import MemoryCounter, RateLimiter, RedisCounter
from marfiq_shared.auth import http_jwks_fetcher
from marfiq_shared.testing import missing_dependency

PROBLEM = "application/problem+json"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@asynccontextmanager
async def gateway(
    jwks_url: str, upstreams: Mapping[str, str | ASGIApp] | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway of its own, echo services in process unless `upstreams` says otherwise."""
    hooks = Hooks()
    targets: dict[str, str | ASGIApp] = {owner: echo_app(owner, hooks) for owner in OWNERS}
    targets.update(upstreams or {})
    app = create_gateway_app(
        settings(marfiq_jwks_url=jwks_url, **overrides),
        upstreams=targets,
        jwks_fetcher=http_jwks_fetcher(jwks_url),
    )
    served = Served(app, lifespan="on")
    await served.start()
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            yield client
    finally:
        await served.stop()


async def _redis_or_skip() -> None:
    """The real local Redis; a missing one skips outside CI and fails in CI."""
    counter = RedisCounter(REDIS_URL, window_s=60, timeout_s=0.5)
    try:
        await counter.hit(f"probe-{uuid.uuid4().hex}", 0)
    except Exception as exc:
        missing_dependency(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        await counter.close()


# --- rate limits -------------------------------------------------------------------------


async def test_address_over_its_limit_gets_429_problem_with_retry_after(jwks_url: str) -> None:
    async with gateway(jwks_url, rate_limit_per_address=3) as client:
        answers = [await client.get("/v1/administrations") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_client_limit_follows_the_token_subject_not_the_address(
    jwks_url: str, ring: KeyRing
) -> None:
    first = {"Authorization": f"Bearer {ring.token(sub='partner-a', roles=['client'])}"}
    other = {"Authorization": f"Bearer {ring.token(sub='partner-b', roles=['client'])}"}
    async with gateway(jwks_url, rate_limit_per_client=2) as client:
        statuses = [(await client.get("/v1/me", headers=first)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert (await client.get("/v1/me", headers=other)).status_code == 200


async def test_zero_turns_a_limit_off(jwks_url: str) -> None:
    async with gateway(jwks_url, rate_limit_per_address=0, rate_limit_per_client=0) as client:
        statuses = {(await client.get("/v1/administrations")).status_code for _ in range(20)}
    assert statuses == {200}


async def test_memory_window_resets_when_the_window_turns() -> None:
    limiter = RateLimiter(MemoryCounter(), per_address=1, per_client=1, window_s=60)
    assert await limiter.check_address("10.0.0.1") is None
    assert await limiter.check_address("10.0.0.1") is not None
    assert await limiter.check_address("10.0.0.2") is None
    counter = MemoryCounter()
    assert await counter.hit("k", 1) == 1
    assert await counter.hit("k", 1) == 2
    assert await counter.hit("k", 2) == 1


async def test_redis_counts_are_shared_by_every_replica(jwks_url: str) -> None:
    await _redis_or_skip()
    # A fresh address per run: windows of earlier runs must not count here.
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"
    headers = {"X-Forwarded-For": address}
    options = {
        "redis_url": REDIS_URL,
        "rate_limit_per_address": 3,
        "trust_forwarded_headers": True,
    }
    async with (
        gateway(jwks_url, **options) as one,
        gateway(jwks_url, **options) as two,
    ):
        statuses = [
            (await client.get("/v1/administrations", headers=headers)).status_code
            for client in (one, two, one, two)
        ]
    assert statuses == [200, 200, 200, 429]


async def test_unreachable_redis_fails_open_with_an_error_logged(
    jwks_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    options = {"redis_url": "redis://127.0.0.1:1/0", "rate_limit_per_address": 1}
    async with gateway(jwks_url, **options) as client:
        statuses = [(await client.get("/v1/administrations")).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert "rate limit store unreachable" in caplog.text


# --- circuit breaker and retries -----------------------------------------------------------


def flaky_app(state: dict[str, bool]) -> ASGIApp:
    """An in-process service that fails (no answer at all) while `state["broken"]`."""
    healthy = echo_app("pensions", Hooks())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and state["broken"]:
            state["calls"] = state.get("calls", 0) + 1
            raise RuntimeError("service down")
        await healthy(scope, receive, send)

    return app


async def test_breaker_opens_after_consecutive_failures_and_closes_after_a_good_probe(
    jwks_url: str, ring: KeyRing
) -> None:
    state = {"broken": True}
    auth = {"Authorization": f"Bearer {ring.token()}"}
    options = {"breaker_threshold": 2, "breaker_cooldown_s": 0.3}
    async with gateway(jwks_url, {"pensions": flaky_app(state)}, **options) as client:
        failures = [(await client.get("/v1/pensions/me", headers=auth)).status_code for _ in "ab"]
        assert failures == [502, 502]
        refused = await client.get("/v1/pensions/me", headers=auth)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["type"].endswith("/service-unavailable")
        assert int(refused.headers["retry-after"]) >= 1
        assert state["calls"] == 2  # the open circuit spared the service
        # Other services are not affected by one service's circuit.
        assert (await client.get("/v1/complaints", headers=auth)).status_code == 200
        state["broken"] = False
        await asyncio.sleep(0.35)
        probe = await client.get("/v1/pensions/me", headers=auth)
        assert probe.status_code == 200
        assert (await client.get("/v1/pensions/me", headers=auth)).status_code == 200


async def test_failed_probe_opens_the_circuit_again(jwks_url: str, ring: KeyRing) -> None:
    state = {"broken": True}
    auth = {"Authorization": f"Bearer {ring.token()}"}
    options = {"breaker_threshold": 1, "breaker_cooldown_s": 0.2}
    async with gateway(jwks_url, {"pensions": flaky_app(state)}, **options) as client:
        assert (await client.get("/v1/pensions/me", headers=auth)).status_code == 502
        assert (await client.get("/v1/pensions/me", headers=auth)).status_code == 503
        await asyncio.sleep(0.25)
        assert (await client.get("/v1/pensions/me", headers=auth)).status_code == 502  # probe
        assert (await client.get("/v1/pensions/me", headers=auth)).status_code == 503


def _retries(owner: str) -> float:
    return (
        REGISTRY.get_sample_value("marfiq_gateway_upstream_retries_total", {"upstream": owner})
        or 0.0
    )


async def test_only_idempotent_requests_are_retried_once_on_connect_errors(
    jwks_url: str, ring: KeyRing
) -> None:
    auth = {"Authorization": f"Bearer {ring.token()}"}
    async with gateway(jwks_url, {"pensions": dead_url()}, breaker_threshold=100) as client:
        before = _retries("pensions")
        assert (await client.get("/v1/pensions/me", headers=auth)).status_code == 502
        assert _retries("pensions") == before + 1
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            answer = await client.request(method, "/v1/pensions/me", headers=auth, content=b"{}")
            assert answer.status_code == 502
        assert _retries("pensions") == before + 1


# --- CORS and security headers -------------------------------------------------------------

ORIGIN = "https://portail.example.ma"


async def test_cors_answers_preflight_for_allowed_origins_only(jwks_url: str) -> None:
    async with gateway(jwks_url, cors_origins=f"{ORIGIN}, https://agents.example.ma") as client:
        preflight = {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        }
        allowed = await client.options("/v1/complaints", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in allowed.headers
        other = await client.options(
            "/v1/complaints", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers
        simple = await client.get("/v1/administrations", headers={"Origin": ORIGIN})
        assert simple.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_no_cors_headers_without_configured_origins(jwks_url: str) -> None:
    async with gateway(jwks_url) as client:
        answer = await client.get("/v1/administrations", headers={"Origin": ORIGIN})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


async def test_every_answer_carries_the_security_headers(jwks_url: str) -> None:
    async with gateway(jwks_url) as client:
        answers = [
            await client.get("/v1/administrations"),  # proxied
            await client.get("/v1/me"),  # the gateway's own 401 problem
            await client.get("/livez"),  # a gateway endpoint
            await client.get("/nowhere"),  # FastAPI's 404
        ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in answer.headers
        assert answer.headers.get_list("x-frame-options") == ["DENY"]


async def test_hsts_only_behind_tls(jwks_url: str) -> None:
    async with gateway(jwks_url, behind_tls=True) as client:
        answer = await client.get("/livez")
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_docs_page_csp_allows_its_own_script_by_hash_only(jwks_url: str) -> None:
    async with gateway(jwks_url) as client:
        page = await client.get("/docs")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "'sha256-" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "SwaggerUIBundle" in page.text


# --- metrics --------------------------------------------------------------------------------


async def test_proxied_requests_are_measured_by_route_prefix(jwks_url: str) -> None:
    labels = {"service": "gateway", "method": "GET", "route": "/v1/administrations"}
    before = REGISTRY.get_sample_value("marfiq_http_requests_total", {**labels, "status": "200"})
    async with gateway(jwks_url) as client:
        await client.get("/v1/administrations/some-id")
        scrape = await client.get("/metrics")
    after = REGISTRY.get_sample_value("marfiq_http_requests_total", {**labels, "status": "200"})
    assert (after or 0) == (before or 0) + 1
    assert REGISTRY.get_sample_value("marfiq_http_request_duration_seconds_count", labels)
    assert 'route="/v1/administrations"' in scrape.text
