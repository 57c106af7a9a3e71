"""ASGI middleware shared by services and gateway: request ids, body limits, metrics."""

from __future__ import annotations

import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marfiq_shared.i18n import current_language, negotiate_language
from marfiq_shared.logs import request_id_var
from marfiq_shared.problems import PayloadTooLarge, problem_response
from marfiq_shared.settings import Language
from marfiq_shared.tracing import span

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


class RequestContextMiddleware:
    """Stamp `X-Request-ID`, pick the language, cap the body size and record metrics."""

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request_token = request_id_var.set(request_id)
        language = negotiate_language(
            headers.get(b"accept-language", b"").decode("latin-1"), self.default_language
        )
        language_token = current_language.set(language)
        started = time.perf_counter()
        status = 500
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *[(k, v) for k, v in message["headers"] if k != b"x-request-id"],
                    (b"x-request-id", raw_id),
                    (b"content-language", language.encode()),
                ]
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
            with span(
                f"{scope['method']} {self.service}",
                traceparent.decode("latin-1") if traceparent else None,
            ):
                await self.app(scope, self._limited(receive), send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, method, path).observe(time.perf_counter() - started)
            request_id_var.reset(request_token)
            current_language.reset(language_token)

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
