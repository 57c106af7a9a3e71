"""Build the gateway: proxy hot path in front, a small FastAPI app for its own endpoints.

Distributed mode: `uvicorn --factory marfiq_gateway.app:create_app` with the services' URLs
in `GATEWAY_*_URL`. Embedded mode: the launcher passes the service apps themselves,
`create_gateway_app(settings, upstreams={"identity": app, ...}, transport=bus)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from marfiq_gateway.embedded import AsgiUpstream
from marfiq_gateway.openapi import OpenApiCache
from marfiq_gateway.proxy import Proxy
from marfiq_gateway.ratelimit import make_rate_limiter
from marfiq_gateway.revocations import SESSION_REVOKED, RevocationList, revocation_handler
from marfiq_gateway.routing import OWNERS, Router
from marfiq_gateway.security import SecurityHeaders, docs_page, with_cors
from marfiq_gateway.settings import GatewaySettings
from marfiq_gateway.upstreams import HttpPool, HttpUpstream, Upstream
from marfiq_shared import health
from marfiq_shared.auth import JwksCache, JwksFetcher, TokenVerifier, http_jwks_fetcher
from marfiq_shared.heap import settle_heap
from marfiq_shared.logs import configure_logging
from marfiq_shared.middleware import RequestContextMiddleware
from marfiq_shared.problems import install_problem_handlers
from marfiq_shared.tracing import configure_tracing

if TYPE_CHECKING:
    from marfiq_shared.events.transport import Subscription, Transport

log = logging.getLogger("marfiq.gateway")

# One year, the preload lists' minimum.
HSTS_MAX_AGE_S = 31_536_000


class GatewayApp(FastAPI):
    """Requests under a service prefix go straight to the proxy; the rest is FastAPI's.

    Every HTTP answer, proxied or not, leaves with the security headers; CORS (when origins
    are configured) sits in front of both.
    """

    proxy: Proxy
    security: SecurityHeaders
    entry: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.entry(scope, receive, self.security.wrap(send, scope["path"]))
            return
        await super().__call__(scope, receive, send)

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self.proxy.router.owner_of(scope["path"])
        if match is not None:
            await self.proxy(scope, receive, send, match[0], match[1])
            return
        await super().__call__(scope, receive, send)


def create_gateway_app(
    settings: GatewaySettings,
    *,
    upstreams: Mapping[str, str | ASGIApp] | None = None,
    jwks_fetcher: JwksFetcher | None = None,
    transport: Transport | None = None,
    manage_upstream_lifespans: bool = False,
) -> GatewayApp:
    """The gateway ASGI app; nothing connects until its lifespan starts.

    `upstreams` maps an owner (identity, correspondence, complaints, pensions) to a base URL
    or to an in-process ASGI app; owners left out use the URL from `settings`. A passed
    `transport` is shared: the gateway opens and closes it as one more user. In-process
    apps get their lifespan from whoever built them, unless `manage_upstream_lifespans`.
    """
    targets = _targets(settings, upstreams or {})
    pool = HttpPool(
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        connections_per_host=settings.upstream_connections,
        keepalive_timeout=settings.upstream_keepalive_s,
    )
    by_owner: dict[str, Upstream] = {}
    in_process: dict[int, AsgiUpstream] = {}
    for owner, target in targets.items():
        if isinstance(target, str):
            by_owner[owner] = HttpUpstream(owner, target, pool)
        else:
            # One app may serve several owners; it still has one lifespan.
            shared = in_process.get(id(target))
            if shared is None:
                shared = in_process[id(target)] = AsgiUpstream(
                    owner,
                    target,
                    read_timeout=settings.read_timeout_s,
                    manage_lifespan=manage_upstream_lifespans,
                )
            by_owner[owner] = shared
    if jwks_fetcher is None:
        identity = by_owner["identity"]
        jwks_fetcher = (
            _upstream_jwks_fetcher(identity)
            if isinstance(identity, AsgiUpstream)
            else http_jwks_fetcher(settings.marfiq_jwks_url)
        )
    verifier = TokenVerifier(
        JwksCache(
            jwks_fetcher,
            max_age_s=settings.jwks_max_age_s,
            min_refetch_interval_s=settings.jwks_min_refetch_s,
        ),
        issuer=settings.marfiq_issuer,
        audience=settings.marfiq_audience,
    )
    router = Router()
    revocations = RevocationList()
    openapi = OpenApiCache(
        by_owner,
        owner_of=lambda path: (match := router.owner_of(path)) and match[1],
        is_public=router.is_public,
        ttl_s=settings.openapi_cache_s,
        timeout_s=min(settings.read_timeout_s, 5.0),
    )
    limiter = make_rate_limiter(
        redis_url=settings.redis_url,
        per_address=settings.rate_limit_per_address,
        per_client=settings.rate_limit_per_client,
        window_s=settings.rate_limit_window_s,
        timeout_s=settings.redis_timeout_s,
    )
    distinct = list({id(upstream): upstream for upstream in by_owner.values()}.values())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(pool.close)
            if limiter is not None:
                stack.push_async_callback(limiter.counter.close)
            for upstream in distinct:  # identity first: the others may need its keys
                await upstream.start()
                stack.push_async_callback(upstream.close)
            bus = transport if transport is not None else _own_transport(settings)
            if bus is not None:
                await bus.open()
                stack.push_async_callback(bus.close)
                subscription = await _subscribe_revocations(bus, revocations, settings)
                stack.push_async_callback(subscription.cancel)
            else:
                log.warning("no event transport: session revocations are not received")
            await _warm_up(verifier)
            settle_heap()
            yield

    app = GatewayApp(
        title="Marfiq gateway",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.proxy = Proxy(
        router=router,
        upstreams=by_owner,
        verifier=verifier,
        revocations=revocations,
        max_body_bytes=settings.max_body_bytes,
        trust_forwarded=settings.trust_forwarded_headers,
        default_language=settings.default_language,
        limiter=limiter,
        breaker_threshold=settings.breaker_threshold,
        breaker_cooldown_s=settings.breaker_cooldown_s,
    )
    docs_html, docs_csp = docs_page()
    app.security = SecurityHeaders(
        hsts_max_age_s=HSTS_MAX_AGE_S if settings.behind_tls else 0, docs_csp=docs_csp
    )
    app.entry = with_cors(app.dispatch, settings.cors_origins)
    app.state.settings = settings
    app.state.token_verifier = verifier
    app.state.revocations = revocations
    app.state.upstreams = by_owner
    app.state.readiness = {
        f"upstream:{owner}": _liveness_check(upstream) for owner, upstream in by_owner.items()
    }
    install_problem_handlers(app)
    app.include_router(health.router)

    @app.get("/openapi.json", include_in_schema=False)
    async def merged_openapi() -> Response:
        return Response(await openapi.document(), media_type="application/json")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(docs_html)

    app.add_middleware(
        RequestContextMiddleware,
        service="gateway",
        max_body_bytes=settings.max_body_bytes,
        default_language=settings.default_language,
    )
    return app


def create_app() -> GatewayApp:
    """`uvicorn --factory` entry point of the distributed mode: configuration from the env."""
    settings = GatewaySettings()
    configure_logging(settings.log_level, json=settings.log_json)
    # Spans for the gateway's own endpoints; proxied requests pass `traceparent` through
    # untouched (no span on the hot path), so the trace continues in the service.
    configure_tracing("gateway")
    return create_gateway_app(settings)


def _targets(
    settings: GatewaySettings, upstreams: Mapping[str, str | ASGIApp]
) -> dict[str, str | ASGIApp]:
    unknown = set(upstreams) - set(OWNERS)
    if unknown:
        raise ValueError(f"unknown upstream owner(s): {sorted(unknown)}; expected {OWNERS}")
    defaults: dict[str, str | ASGIApp] = {
        "identity": settings.identity_url,
        "correspondence": settings.correspondence_url,
        "complaints": settings.complaints_url,
        "pensions": settings.pensions_url,
    }
    return {owner: upstreams.get(owner, defaults[owner]) for owner in OWNERS}


def _upstream_jwks_fetcher(identity: Upstream) -> JwksFetcher:
    """Read identity's keys through its upstream (an in-process call in embedded mode)."""

    async def fetch() -> dict[str, Any]:
        status, body = await identity.get("/.well-known/jwks.json", within=5.0)
        if status != 200:
            raise ConnectionError(f"JWKS answered {status}")
        document: dict[str, Any] = orjson.loads(body)
        return document

    return fetch


def _liveness_check(upstream: Upstream) -> health.ReadinessCheck:
    async def check() -> None:
        status, _ = await upstream.get("/livez", within=1.0)
        if status != 200:
            raise ConnectionError(f"{upstream.name} answered {status}")

    return check


async def _warm_up(verifier: TokenVerifier) -> None:
    """Fetch the signing keys now rather than on the first request (best effort)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(verifier.jwks.key(""), timeout=2.0)


def _own_transport(settings: GatewaySettings) -> Transport | None:
    """The broker connection of a gateway process of its own (None without a broker URL:
    an in-process bus in a process where no service publishes would never deliver)."""
    if not settings.amqp_url:
        return None
    from marfiq_shared.events.runtime import make_transport

    return make_transport(settings)


async def _subscribe_revocations(
    bus: Transport, revocations: RevocationList, settings: GatewaySettings
) -> Subscription:
    # Each replica needs every revocation, so each one listens on a queue of its own.
    queue = f"{settings.event_queue_prefix}{settings.revocation_queue}.{socket.gethostname()}"
    return await bus.subscribe(
        queue,
        [SESSION_REVOKED],
        revocation_handler(revocations),
        prefetch=settings.event_prefetch,
        retry_delays_ms=settings.event_retry_delays_ms,
    )
