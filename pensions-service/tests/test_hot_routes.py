"""Simulations served by `hot_routes` answer exactly as FastAPI's route does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from typing import Any

import httpx
import pytest
from pensions_support import FrozenClock, Service, Signer, running

from marfiq_pensions import hot_routes
from marfiq_pensions.settings import PensionsSettings
from marfiq_shared.hot_routes import HotRoutes
from marfiq_shared.testing import without_middleware

URL = "/v1/pensions/me/simulations"
_COMPARED_HEADERS = ("content-type", "content-length", "content-language")


@pytest.fixture
async def plain(
    settings: PensionsSettings, clock: FrozenClock, signer: Signer, service: Service
) -> AsyncIterator[Service]:
    """The same service, on the same database, with every request going through FastAPI."""
    async with running(settings, clock=clock, signer=signer) as started:
        without_middleware(started.app, HotRoutes)
        started.employers = service.employers
        yield started


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the hot route did with each request it was given: "simulated", or "refused"
    (an error rendered by the app's handlers)."""
    outcomes: list[str] = []
    hot = hot_routes.ROUTES[URL]

    async def recorded(request: Any, body: Any) -> Any:
        try:
            answer = await hot.serve(request, body)
        except Exception:
            outcomes.append("refused")
            raise
        outcomes.append("declined" if answer is None else "simulated")
        return answer

    monkeypatch.setitem(hot_routes.ROUTES, URL, replace(hot, serve=recorded))
    return outcomes


def _shape(answer: httpx.Response) -> tuple[int, dict[str, str], Any]:
    """Status, the headers that matter, and the body."""
    headers = {name: answer.headers.get(name, "") for name in _COMPARED_HEADERS}
    assert len(answer.headers.get("x-request-id", "")) >= 8
    return answer.status_code, headers, answer.json()


async def _files(service: Service) -> None:
    person = await service.affiliate("AB123456", birth_date=date(1966, 3, 10))
    await service.history(
        person["id"], date(2000, 1, 1), date(2024, 12, 31), "10000", employer=service.employers[0]
    )
    await service.affiliate("EF000001", birth_date=None)
    await service.affiliate("GH000002", status="retired")


async def _simulation_answers(service: Service) -> list[tuple[int, dict[str, str], Any]]:
    citizen = service.citizen("AB123456")
    body = {"retirement_date": "2029-07-01", "salary_growth": "0.02"}

    async def post(json: Any = None, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return _shape(await service.client.post(URL, json=json, headers=headers, **kw))

    arabic = citizen.headers | {"Accept-Language": "ar"}
    return [
        await post(body, citizen.headers),
        await post({"retirement_date": "2031-01-01"}, arabic),  # growth by default
        await post({"retirement_date": "2020-01-01"}, citizen.headers),  # in the past
        await post({"retirement_date": "2026-01-01"}, arabic),  # before the pension age
        await post(body | {"salary_growth": "0.5"}, citizen.headers),  # out of range
        await post({"salary_growth": "0.01"}, citizen.headers),  # no date
        await post({"retirement_date": "someday"}, citizen.headers),
        await post(body, service.citizen("EF000001").headers),  # birth date unknown
        await post(body, service.citizen("GH000002").headers),  # already retired
        await post(body, service.citizen("ZZ999999").headers),  # no file
        await post(body),  # no token
        await post({"retirement_date": "someday"}),  # no token and a bad body: the token first
        await post(body, {"Authorization": "Bearer not-a-token"}),
        await post(body, {"Authorization": "Basic abc"}),
        await post(body, service.citizen(None, acr="low").headers),  # CIN not proven
        await post(body, service.agent_of(service.employers[0]).headers),  # not a citizen
        await post(body, service.client_of(service.employers[0]).headers),  # an employer
        await post(
            content=b'{"retirement_date": ',
            headers=citizen.headers | {"content-type": "application/json"},
        ),
        await post(content=b"", headers=citizen.headers | {"content-type": "application/json"}),
        await post(content=b"[]", headers=citizen.headers | {"content-type": "application/json"}),
    ]


async def test_every_answer_of_the_hot_simulation_is_fastapis(
    service: Service, plain: Service, served: list[str]
) -> None:
    await _files(service)

    served_here = await _simulation_answers(service)
    through_fastapi = await _simulation_answers(plain)

    assert served_here == through_fastapi
    statuses = [status for status, _, _ in served_here]
    assert statuses[:10] == [200, 200, 422, 422, 422, 422, 422, 409, 409, 404]
    assert statuses[10:] == [401, 401, 401, 401, 403, 403, 403, 400, 422, 422]
    assert served_here[0][2]["breakdown"]["service_months"] > 300  # projected to 2029-06
    # Bodies that do not validate never reached it (FastAPI refused those: out of range, no
    # date, a bad date, no token with a bad body, malformed JSON, no body, not an object).
    assert served == ["simulated", "simulated"] + ["refused"] * 11


async def test_a_hot_simulation_is_counted_under_its_route(
    service: Service, served: list[str]
) -> None:
    await _files(service)

    answer = await service.client.post(
        URL, json={"retirement_date": "2029-07-01"}, headers=service.citizen("AB123456").headers
    )

    assert answer.status_code == 200, answer.text
    assert served == ["simulated"]
    metrics = (await service.client.get("/metrics")).text
    assert f'method="POST",route="{URL}",service="pensions-service",status="200"' in metrics
