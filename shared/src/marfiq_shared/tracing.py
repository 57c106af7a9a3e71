"""W3C trace context across HTTP and events; OpenTelemetry spans when an operator turns it on.

Without OpenTelemetry (the default) the trace id still travels: an HTTP request's
`traceparent` becomes the current one (with a parent id of this hop's own), `add_event`
copies it into the event envelope, and the consumer continues it for what its handler emits.
With `OTEL_ENABLED=true` (and the `opentelemetry-sdk` + OTLP exporter packages installed) the
same points open real spans, exported to the standard `OTEL_EXPORTER_OTLP_ENDPOINT`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

# The trace context of the unit of work in progress (an HTTP request, an event handled),
# read by add_event for the envelope's `traceparent` extension.
current_traceparent: ContextVar[str | None] = ContextVar("marfiq_traceparent", default=None)

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

_tracer: Any = None  # an OpenTelemetry tracer once configure_tracing turned it on


def valid(traceparent: str | None) -> str | None:
    """The header when it is a well-formed version-00 traceparent, else None (W3C §3.2)."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match[1] == _ZERO_TRACE or match[2] == _ZERO_SPAN:
        return None
    return match[0]


def child_of(traceparent: str | None) -> str | None:
    """Same trace and flags, a new parent id for this hop; None without a valid parent."""
    parent = valid(traceparent)
    if parent is None:
        return None
    return f"{parent[:36]}{os.urandom(8).hex()}{parent[52:]}"


def enabled() -> bool:
    return _tracer is not None


def configure_tracing(service: str) -> bool:
    """Turn on OpenTelemetry export when `OTEL_ENABLED=true`; True when it is on.

    The exporter reads the standard variables (`OTEL_EXPORTER_OTLP_ENDPOINT`, headers,
    protocol …) itself. Missing packages leave tracing off with a warning, never a crash.
    """
    global _tracer
    if os.environ.get("OTEL_ENABLED", "").strip().lower() not in ("1", "true", "yes"):
        return False
    if _tracer is not None:
        return True
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        log.warning(
            "OTEL_ENABLED is set but OpenTelemetry is not installed: only traceparent "
            "propagation is active",
            extra={"error": str(exc)},
        )
        return False
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", f"marfiq-{service}")}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracer = trace.get_tracer("marfiq")
    return True


@contextmanager
def span(name: str, traceparent: str | None, *, kind: str = "server") -> Iterator[None]:
    """Continue the trace of `traceparent` for the work inside the block.

    Sets `current_traceparent` for that work: the span's own context when OpenTelemetry is
    on, otherwise the parent's trace with a fresh parent id (nothing when there is none).
    """
    if _tracer is None:
        token = current_traceparent.set(child_of(traceparent))
        try:
            yield
        finally:
            current_traceparent.reset(token)
        return
    from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = valid(traceparent)
    context = TraceContextTextMapPropagator().extract({"traceparent": parent} if parent else {})
    with _tracer.start_as_current_span(name, context=context, kind=SpanKind[kind.upper()]) as s:
        own = s.get_span_context()
        token = current_traceparent.set(
            f"00-{format_trace_id(own.trace_id)}-{format_span_id(own.span_id)}-"
            f"{int(own.trace_flags):02x}"
        )
        try:
            yield
        finally:
            current_traceparent.reset(token)
