"""The sign-in routes served by `hot_routes` answer exactly as FastAPI's routes do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from delivery_support import MailServer, SmsGateway, code_in
from identity_support import Identity, started

from marfiq_identity import hot_routes
from marfiq_identity.settings import IdentitySettings
from marfiq_shared.hot_routes import HotRoutes
from marfiq_shared.testing import without_middleware

_COMPARED_HEADERS = ("content-type", "cache-control", "pragma", "content-language")


@pytest.fixture
async def plain(
    settings: IdentitySettings, sms_gateway: SmsGateway, mail_server: MailServer
) -> AsyncIterator[Identity]:
    """The same service with every request going through FastAPI."""
    async with started(settings) as running:
        without_middleware(running.app, HotRoutes)
        running.sms = sms_gateway
        running.mail = mail_server
        yield running


def _shape(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, headers that matter, and the body with its random values named only."""
    body = answer.json()
    if isinstance(body, dict):
        for key in ("access_token", "refresh_token", "challenge_id", "nonce", "instance"):
            if key in body:
                body[key] = type(body[key]).__name__
    headers = {name: answer.headers.get(name, "") for name in _COMPARED_HEADERS}
    assert len(answer.headers.get("x-request-id", "")) >= 8
    return answer.status_code, headers, body


async def _sign_in_answers(
    identity: Identity, number: str
) -> list[tuple[int, dict[str, str], Any]]:
    client = identity.client
    shapes = []
    requested = await identity.request_code(number, **{"Accept-Language": "ar"})
    shapes.append(_shape(requested))
    challenge_id = requested.json()["challenge_id"]
    code = code_in(await identity.received_text(number))
    wrong = "000000" if code != "000000" else "111111"
    shapes.append(_shape(await identity.verify(challenge_id, wrong)))
    shapes.append(_shape(await identity.verify(challenge_id, code)))
    shapes.append(_shape(await identity.verify(challenge_id, code)))  # spent
    shapes.append(_shape(await identity.request_code(number)))  # too soon
    shapes.append(_shape(await identity.request_code("+212661800009", channel="fax")))
    bad_json = await client.post(
        "/v1/auth/otp", content=b"{", headers={"content-type": "application/json"}
    )
    shapes.append(_shape(bad_json))
    shapes.append(_shape(await client.post("/v1/auth/eid/challenge", json={})))
    unknown = await client.post(
        "/v1/auth/eid/verify",
        json={
            "challenge_id": "0b6c8d3e-6f51-4a7e-9d3c-4a1f2e8b7c60",
            "sod": "AA==",
            "dg1": "AA==",
            "dg15": "AA==",
            "signature": "AA==",
        },
    )
    shapes.append(_shape(unknown))
    return shapes


async def test_every_answer_of_the_hot_routes_is_fastapis(
    identity: Identity, plain: Identity
) -> None:
    served_here = await _sign_in_answers(identity, "+212661800001")
    through_fastapi = await _sign_in_answers(plain, "+212661800002")

    assert served_here == through_fastapi
    statuses = [status for status, _, _ in served_here]
    assert statuses == [202, 400, 200, 400, 429, 422, 400, 201, 401]


async def test_a_hot_route_is_served_here_and_counted_under_its_route(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    hot = hot_routes.ROUTES["/v1/auth/otp"]

    async def recorded(request: Any, body: Any) -> Any:
        served.append(request.url.path)
        return await hot.serve(request, body)

    monkeypatch.setitem(hot_routes.ROUTES, "/v1/auth/otp", replace(hot, serve=recorded))

    assert (await identity.request_code("+212661800003")).status_code == 202
    assert (await identity.request_code("+212661800004", channel="fax")).status_code == 422

    assert served == ["/v1/auth/otp"]  # the invalid body went to FastAPI
    metrics = (await identity.client.get("/metrics")).text
    assert 'route="/v1/auth/otp",service="identity-service",status="202"' in metrics
