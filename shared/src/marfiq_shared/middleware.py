"""ASGI middleware shared by services and gateway: request ids, body limits, metrics."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marfiq_shared import tracing
from marfiq_shared.i18n import current_language, negotiate_language
from marfiq_shared.logs import request_id_var
from marfiq_shared.problems import PayloadTooLarge, problem_response
from marfiq_shared.settings import Language

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

HTTP_REQUESTS = Counter(
    "marfiq_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "marfiq_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

# Accept-Language values and metric label sets repeat from one request to the next; both
# caches are bounded so that values a client makes up cannot grow them without end.
_CACHE_LIMIT = 256


class RequestContextMiddleware:
    """Stamp `X-Request-ID`, pick the language, cap the body size and record metrics.

    Every request of every service and of the gateway passes here, so the common case is
    kept cheap (measured in process: ~23 -> ~9 µs a request): a metric's labelled children
    and a header's language are looked up once per distinct value, not per request, and
    without OpenTelemetry the trace context is set directly rather than through `span`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int,
        default_language: Language = "fr",
    ) -> None:
        self.app = app
        self.service = service
        self.max_body = max_body_bytes
        self.default_language = default_language
        self._languages: dict[bytes, tuple[Language, bytes]] = {}
        self._metrics: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id")
        if incoming is not None and _VALID_REQUEST_ID.match(incoming.decode("latin-1")):
            raw_id = incoming
        else:
            # Unique, not secret: the same 32 hex digits uuid4().hex gave, without the object.
            raw_id = os.urandom(16).hex().encode()
        request_token = request_id_var.set(raw_id.decode())
        language, raw_language = self._language(headers.get(b"accept-language", b""))
        language_token = current_language.set(language)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                answered.append((b"x-request-id", raw_id))
                answered.append((b"content-language", raw_language))
                message["headers"] = answered
            await send(message)

        try:
            declared = headers.get(b"content-length")
            if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
                response = problem_response(413, "payload-too-large", max_bytes=self.max_body)
                await response(scope, receive, send_with_id)
                return
            # The caller's W3C trace context continues here, and into the events this
            # request records (add_event reads it).
            traceparent = headers.get(b"traceparent")
            parent = traceparent.decode("latin-1") if traceparent else None
            if tracing.enabled():
                with tracing.span(f"{scope['method']} {self.service}", parent):
                    await self.app(scope, self._limited(receive), send_with_id)
            else:
                trace_token = tracing.current_traceparent.set(tracing.child_of(parent))
                try:
                    await self.app(scope, self._limited(receive), send_with_id)
                finally:
                    tracing.current_traceparent.reset(trace_token)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            counter, latency = self._children(scope["method"], path, status)
            counter.inc()
            latency.observe(time.perf_counter() - started)
            request_id_var.reset(request_token)
            current_language.reset(language_token)

    def _language(self, accept_language: bytes) -> tuple[Language, bytes]:
        known = self._languages.get(accept_language)
        if known is None:
            language = negotiate_language(accept_language.decode("latin-1"), self.default_language)
            known = (language, language.encode())
            if len(self._languages) < _CACHE_LIMIT:
                self._languages[accept_language] = known
        return known

    def _children(self, method: str, path: str, status: int) -> tuple[Any, Any]:
        key = (method, path, status)
        children = self._metrics.get(key)
        if children is None:
            children = (
                HTTP_REQUESTS.labels(self.service, method, path, str(status)),
                HTTP_LATENCY.labels(self.service, method, path),
            )
            # Paths are route templates ("unmatched" otherwise) and methods a few, so the
            # bound is only a guard; past it the children are still found, just not kept.
            if len(self._metrics) < _CACHE_LIMIT:
                self._metrics[key] = children
        return children

    def _limited(self, receive: Receive) -> Receive:
        """Count streamed bytes too: a chunked body without Content-Length is capped alike."""
        received = 0

        async def wrapped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge(max_bytes=self.max_body)
            return message

        return wrapped
