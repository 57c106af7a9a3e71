"""The hot path: route, verify the token, forward. Plain ASGI, no framework in the way."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from prometheus_client import Counter, Histogram
from starlette.types import Receive, Scope, Send

from marfiq_gateway.breaker import CircuitBreaker
from marfiq_gateway.headers import IncomingRequest, prepare_request
from marfiq_gateway.ratelimit import RateLimiter
from marfiq_gateway.revocations import RevocationList
from marfiq_gateway.routing import Router, has_dot_segment
from marfiq_gateway.upstreams import (
    BodyTooLarge,
    ClientGone,
    Exchange,
    Upstream,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from marfiq_shared.auth import Principal, TokenVerifier, bearer_token
from marfiq_shared.i18n import current_language, negotiate_language
from marfiq_shared.logs import request_id_var
from marfiq_shared.middleware import HTTP_LATENCY, HTTP_REQUESTS
from marfiq_shared.problems import Problem, problem_response
from marfiq_shared.settings import Language

log = logging.getLogger("marfiq.gateway")

SERVICE = "gateway"
# Status recorded when the client left before an answer could be sent (nginx's convention).
CLIENT_CLOSED = 499

UPSTREAM_ERRORS = Counter(
    "marfiq_gateway_upstream_errors_total",
    "Requests the gateway answered itself because a service failed",
    ["upstream", "kind"],
)
REJECTED = Counter(
    "marfiq_gateway_rejected_total", "Requests refused before reaching a service", ["reason"]
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MISSING_TOKEN = {"WWW-Authenticate": 'Bearer realm="marfiq"'}
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="marfiq", error="invalid_token"'}


class Proxy:
    """Forward a request to the service owning its path, once its token has been checked."""

    def __init__(
        self,
        *,
        router: Router,
        upstreams: Mapping[str, Upstream],
        verifier: TokenVerifier,
        revocations: RevocationList,
        max_body_bytes: int,
        trust_forwarded: bool,
        default_language: Language,
        limiter: RateLimiter | None = None,
        breaker_threshold: int = 5,
        breaker_cooldown_s: float = 10.0,
    ) -> None:
        self.router = router
        self.upstreams = dict(upstreams)
        self.verifier = verifier
        self.revocations = revocations
        self.max_body = max_body_bytes
        self.trust_forwarded = trust_forwarded
        self.default_language: Language = default_language
        self.limiter = limiter
        self.breakers = {
            owner: CircuitBreaker(owner, threshold=breaker_threshold, cooldown_s=breaker_cooldown_s)
            for owner in self.upstreams
        }
        # prometheus_client's labels() takes a lock and builds a key on every call.
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, prefix: str, owner: str
    ) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        if method not in _METHODS:
            method = "OTHER"  # a label per invented method would grow without bound
        request = prepare_request(scope, trust_forwarded=self.trust_forwarded)
        token = request_id_var.set(request.request_id.decode())
        try:
            status = await self._handle(scope, receive, send, owner, method, request)
        finally:
            request_id_var.reset(token)
        self._observe(method, prefix, status, time.perf_counter() - started)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        owner: str,
        method: str,
        request: IncomingRequest,
    ) -> int:
        path: str = scope["path"]
        if has_dot_segment(path):
            REJECTED.labels("path").inc()
            return await self._problem(scope, receive, send, request, 400, "bad-request")
        if request.content_length is not None and not 0 <= request.content_length <= self.max_body:
            REJECTED.labels("body-size").inc()
            return await self._problem(
                scope, receive, send, request, 413, "payload-too-large", max_bytes=self.max_body
            )
        limiter = self.limiter
        if limiter is not None:
            # Before the token: a flood of bad tokens must not buy signature checks.
            wait = await limiter.check_address(request.client_address)
            if wait is not None:
                return await self._rate_limited(scope, receive, send, request, "address", wait)
        if not self.router.is_public(method, path):
            refusal = await self._authenticate(request)
            if isinstance(refusal, tuple):
                REJECTED.labels(refusal[0]).inc()
                code, detail, headers = refusal[1]
                return await self._problem(
                    scope, receive, send, request, 401, code, detail=detail, headers=headers
                )
            if limiter is not None:
                # `sub` is the client id of a machine client (client credentials) and the
                # person otherwise: one quota whichever address the calls come from.
                wait = await limiter.check_client(refusal.sub)
                if wait is not None:
                    return await self._rate_limited(scope, receive, send, request, "client", wait)
        upstream = self.upstreams[owner]
        breaker = self.breakers[owner]
        wait = breaker.allow()
        if wait is not None:
            UPSTREAM_ERRORS.labels(owner, "circuit-open").inc()
            return await self._problem(
                scope,
                receive,
                send,
                request,
                503,
                "service-unavailable",
                headers={"Retry-After": str(wait)},
            )
        exchange = Exchange(scope=scope, request=request, max_body=self.max_body)
        try:
            status = await upstream.forward(exchange, receive, send)
        except BodyTooLarge:
            breaker.released()
            REJECTED.labels("body-size").inc()
            return await self._problem(
                scope, receive, send, request, 413, "payload-too-large", max_bytes=self.max_body
            )
        except ClientGone:
            breaker.released()
            return CLIENT_CLOSED
        except UpstreamTimeout as exc:
            breaker.failed()
            UPSTREAM_ERRORS.labels(owner, "timeout").inc()
            log.warning("upstream timed out", extra={"upstream": owner, "error": str(exc)})
            return await self._problem(scope, receive, send, request, 504, "gateway-timeout")
        except UpstreamUnavailable as exc:
            breaker.failed()
            UPSTREAM_ERRORS.labels(owner, "unavailable").inc()
            log.warning("upstream unavailable", extra={"upstream": owner, "error": str(exc)})
            return await self._problem(scope, receive, send, request, 502, "bad-gateway")
        except BaseException:
            breaker.released()
            raise
        breaker.succeeded()
        return status

    async def _authenticate(
        self, request: IncomingRequest
    ) -> tuple[str, tuple[str, str | None, dict[str, str]]] | Principal:
        """The principal when the bearer token is valid; otherwise why not, as a 401."""
        raw = request.authorization
        token = bearer_token(raw.decode("latin-1")) if raw is not None else None
        if token is None:
            return "missing-token", ("unauthorized", None, _MISSING_TOKEN)
        try:
            principal = await self.verifier.verify(token)
        except Problem as exc:
            return "invalid-token", ("invalid-token", exc.detail, _INVALID_TOKEN)
        if principal.sid is not None and self.revocations.is_revoked(principal.sid):
            return "revoked-session", ("invalid-token", "session revoked", _INVALID_TOKEN)
        return principal

    async def _rate_limited(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: IncomingRequest,
        by: str,
        wait: int,
    ) -> int:
        REJECTED.labels(f"rate-limit-{by}").inc()
        return await self._problem(
            scope, receive, send, request, 429, "rate-limited", headers={"Retry-After": str(wait)}
        )

    async def _problem(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: IncomingRequest,
        status: int,
        code: str,
        *,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: object,
    ) -> int:
        language = negotiate_language(
            request.accept_language.decode("latin-1"), self.default_language
        )
        token = current_language.set(language)
        try:
            response = problem_response(
                status,
                code,
                detail=detail,
                instance=scope["path"],
                headers={
                    **(headers or {}),
                    "X-Request-ID": request.request_id.decode(),
                    "Content-Language": language,
                },
                **extensions,
            )
        finally:
            current_language.reset(token)
        await response(scope, receive, send)
        return status

    def _observe(self, method: str, prefix: str, status: int, elapsed: float) -> None:
        key = (method, prefix, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = HTTP_REQUESTS.labels(
                SERVICE, method, prefix, str(status)
            )
        counter.inc()
        histogram = self._histograms.get((method, prefix))
        if histogram is None:
            histogram = self._histograms[(method, prefix)] = HTTP_LATENCY.labels(
                SERVICE, method, prefix
            )
        histogram.observe(elapsed)
