"""Observability: trace context from HTTP into events, metrics on scrape, logs without
personal data."""

from __future__ import annotations

import logging
import sys
from typing import Any

import httpx
import orjson
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from marfiq_shared import health, tracing
from marfiq_shared.events.catalogue import SessionRevoked
from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.outbox import OUTBOX_KEY, SOURCE_KEY, add_event, outbox_table
from marfiq_shared.logs import JsonFormatter, request_id_var
from marfiq_shared.middleware import RequestContextMiddleware

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class RecordingSession:
    """Just enough of an AsyncSession for add_event: the rows it would have inserted."""

    def __init__(self) -> None:
        self.info: dict[str, Any] = {
            SOURCE_KEY: "tests",
            OUTBOX_KEY: outbox_table(MetaData()),
        }
        self.rows: list[dict[str, Any]] = []

    async def execute(self, statement: Any, params: dict[str, Any]) -> None:
        self.rows.append(params)


def _app(session: RecordingSession) -> FastAPI:
    router = APIRouter()

    @router.post("/things/{thing_id}")
    async def create(thing_id: str) -> dict[str, str | None]:
        await add_event(session, SessionRevoked(sid=thing_id))
        return {"traceparent": tracing.current_traceparent.get()}

    app = FastAPI()
    app.include_router(router)
    app.include_router(health.router)
    app.add_middleware(RequestContextMiddleware, service="tests", max_body_bytes=1024)
    return app


async def _call(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path, **kwargs)


# --- trace context -------------------------------------------------------------------------


async def test_request_traceparent_reaches_the_event_envelope_as_a_child() -> None:
    session = RecordingSession()
    answer = await _call(_app(session), "POST", "/things/s1", headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200
    envelope = CloudEvent.from_json(session.rows[0]["payload"])
    assert envelope.traceparent is not None
    version, trace_id, parent_id, flags = envelope.traceparent.split("-")
    assert (version, trace_id, flags) == ("00", TRACE_ID, "01")
    assert parent_id != "00f067aa0ba902b7"  # this hop's own id, not the caller's
    assert answer.json()["traceparent"] == envelope.traceparent
    assert tracing.current_traceparent.get() is None  # nothing leaks past the request


@pytest.mark.parametrize(
    "header",
    [None, "garbage", f"00-{'0' * 32}-00f067aa0ba902b7-01", f"00-{TRACE_ID}-{'0' * 16}-01"],
)
async def test_no_or_invalid_traceparent_leaves_the_envelope_without_one(
    header: str | None,
) -> None:
    session = RecordingSession()
    headers = {"traceparent": header} if header else {}
    await _call(_app(session), "POST", "/things/s1", headers=headers)
    assert CloudEvent.from_json(session.rows[0]["payload"]).traceparent is None


async def test_explicit_traceparent_wins_over_the_current_one() -> None:
    session = RecordingSession()
    other = f"00-{'a' * 32}-{'b' * 16}-00"
    with tracing.span("work", TRACEPARENT):
        event = await add_event(session, SessionRevoked(sid="s"), traceparent=other)
    assert event.traceparent == other


def test_consumer_span_continues_the_event_trace_for_what_the_handler_emits() -> None:
    with tracing.span("identity.session.revoked", TRACEPARENT, kind="consumer"):
        inside = tracing.current_traceparent.get()
    assert inside is not None
    assert inside.split("-")[1] == TRACE_ID
    assert tracing.current_traceparent.get() is None


def test_tracing_stays_off_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_ENABLED", raising=False)
    assert tracing.configure_tracing("tests") is False
    assert not tracing.enabled()


def test_otel_enabled_without_the_packages_keeps_propagation_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_ENABLED", "true")
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    assert tracing.configure_tracing("tests") is False
    assert "OpenTelemetry is not installed" in caplog.text


# --- metrics -------------------------------------------------------------------------------


async def test_metrics_scrape_refreshes_and_reports_http_by_route_template() -> None:
    session = RecordingSession()
    app = _app(session)
    calls: list[int] = []

    async def refresh() -> None:
        calls.append(1)

    app.state.refresh_metrics = refresh
    labels = {"service": "tests", "method": "POST", "route": "/things/{thing_id}"}
    before = REGISTRY.get_sample_value("marfiq_http_requests_total", {**labels, "status": "200"})
    await _call(app, "POST", "/things/abc")
    scrape = await _call(app, "GET", "/metrics")
    assert calls == [1]
    after = REGISTRY.get_sample_value("marfiq_http_requests_total", {**labels, "status": "200"})
    assert (after or 0) == (before or 0) + 1
    assert 'route="/things/{thing_id}"' in scrape.text
    assert "marfiq_http_request_duration_seconds_bucket" in scrape.text


async def test_database_pool_use_is_observed_from_the_engine() -> None:
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=7)
    try:
        health.observe_pool("tests", engine)
    finally:
        await engine.dispose()
    assert REGISTRY.get_sample_value("marfiq_db_pool_size", {"service": "tests"}) == 7
    assert REGISTRY.get_sample_value("marfiq_db_pool_checked_out", {"service": "tests"}) == 0


# --- logs ------------------------------------------------------------------------------------


def _line(message: str, *args: Any, exc: bool = False, **extra: Any) -> dict[str, Any]:
    record = logging.LogRecord("marfiq.test", logging.INFO, __file__, 1, message, args, None)
    if exc:
        try:
            raise ValueError("Key (email)=(amina.el@example.ma) already exists")
        except ValueError:
            record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    parsed: dict[str, Any] = orjson.loads(JsonFormatter().format(record))
    return parsed


@pytest.mark.parametrize(
    "phone",
    ["+212612345678", "+212 6 12 34 56 78", "0612345678", "06 12 34 56 78", "+212-612-345-678"],
)
def test_phone_numbers_are_masked_in_messages_and_extras(phone: str) -> None:
    line = _line("code sent to %s", phone, destination=phone, contact={"phones": [phone]})
    text = orjson.dumps(line).decode()
    assert phone not in text
    assert line["message"] == "code sent to ***78"
    assert line["destination"] == "***78"


def test_email_addresses_are_masked_everywhere_including_exceptions() -> None:
    line = _line(
        "mail to amina.el@example.ma",
        exc=True,
        to="amina.el@example.ma",
        nested={"to": ["amina.el@example.ma"]},
    )
    assert "amina.el@example.ma" not in orjson.dumps(line).decode()
    assert line["to"] == "a***@example.ma"
    assert "a***@example.ma" in line["exception"]


def test_one_time_codes_and_secrets_never_appear() -> None:
    line = _line("verification", code="482913", otp="482913", password="hunter2", token="eyJ.x.y")
    assert "482913" not in orjson.dumps(line).decode()
    assert "hunter2" not in orjson.dumps(line).decode()
    assert line["code"] == line["otp"] == line["token"] == "[redacted]"


def test_log_lines_carry_the_request_id() -> None:
    token = request_id_var.set("req-12345678")
    try:
        assert _line("hello")["request_id"] == "req-12345678"
    finally:
        request_id_var.reset(token)
    # Dates, times and identifiers stay readable.
    line = _line("at 2026-11-25 19:45:17 from 10.0.0.1 id 123e4567-e89b-12d3")
    assert line["message"] == "at 2026-11-25 19:45:17 from 10.0.0.1 id 123e4567-e89b-12d3"
