"""Public statistics: cohorts per administration and month, median from a histogram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from complaints_support import Service, problem, running

from marfiq_complaints.scheduler.runner import Scheduler
from marfiq_complaints.stats.service import default_period, median_from_histogram


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ([], None),
        ([0, 0, 0], None),
        ([1], 0),
        ([0, 0, 3], 2),
        ([1, 0, 0, 1], 1.5),
        ([2, 0, 1, 0, 0, 0, 1], 1.0),
        ([0, 1, 1, 1], 2),
    ],
)
def test_median_from_a_histogram(histogram: list[int], median: float | None) -> None:
    assert median_from_histogram(histogram) == median


def test_the_default_period_is_the_last_twelve_months_in_casablanca() -> None:
    # 31 Dec 2025, 23:30 UTC is already 1 Jan 2026 in Casablanca (UTC+1).
    first, last = default_period(datetime(2025, 12, 31, 23, 30, tzinfo=UTC))
    assert (first.isoformat(), last.isoformat()) == ("2025-02-01", "2026-01-01")


async def test_figures_count_answers_on_time_and_late_with_their_median(service: Service) -> None:
    first, second = service.administrations
    citizen, agent = service.citizen(), service.agent(first)
    start = service.clock.now
    filed = [(await service.file(citizen, first))["id"] for _ in range(5)]
    await service.file(citizen, second)
    # Answered after 3, 10, 10 and 70 days (the last one late); one still open.
    for complaint_id, days in zip(filed, (3, 10, 10, 70), strict=False):
        service.clock.now = start + timedelta(days=days)
        await service.step(agent, complaint_id, "acknowledge")
        answered = await service.step(agent, complaint_id, "answer", {"answer": "Fait"})
        assert answered.status_code == 200, answered.text
    # The open one is marked overdue by the scheduler.
    scheduler: Scheduler = service.app.state.scheduler
    await scheduler.run_once()
    # Filed in October: another cohort.
    service.clock.now = start + timedelta(days=35)
    await service.file(citizen, first)

    september = await service.client.get(
        "/v1/complaints/stats", params={"from": "2025-09", "to": "2025-09"}
    )
    assert september.status_code == 200
    assert september.headers["cache-control"] == "public, max-age=0"
    body = september.json()
    assert (body["from_month"], body["to_month"]) == ("2025-09", "2025-09")
    figures = {item["code"]: item for item in body["items"]}
    assert figures["MIN-A"] | {"administration_id": None} == {
        "administration_id": None,
        "code": "MIN-A",
        "name_ar": "إدارة MIN-A",
        "name_fr": "Administration MIN-A",
        "received": 5,
        "answered": 4,
        "answered_pct": 80.0,
        "answered_on_time": 3,
        "answered_on_time_pct": 75.0,
        "median_days_to_answer": 10.0,
        "mean_days_to_answer": 23.2,
        "rejected": 0,
        "redirected_out": 0,
        "open_overdue": 1,
        "ratings": 0,
        "average_rating": None,
    }
    # The histogram of days to answer is dense: index = days, value = answers.
    histogram = await service.scalar(
        "SELECT answer_days FROM complaints.stats_monthly WHERE administration_id = :id "
        "AND month = '2025-09-01'",
        id=first.id,
    )
    assert histogram == [0, 0, 0, 1] + [0] * 6 + [2] + [0] * 59 + [1]
    assert figures["MIN-B"]["received"] == 1
    assert figures["MIN-B"]["answered_pct"] == 0.0
    assert figures["MIN-B"]["median_days_to_answer"] is None

    both = await service.client.get(
        "/v1/complaints/stats",
        params={"from": "2025-09", "to": "2025-10", "administration_id": str(first.id)},
    )
    (only,) = both.json()["items"]
    assert only["received"] == 6
    assert only["answered"] == 4


async def test_stats_pages_walk_every_administration(service: Service) -> None:
    for number in range(5):
        await service.administration(f"COM-{number}")

    codes: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await service.client.get("/v1/complaints/stats", params=params)).json()
        codes += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert codes == ["COM-0", "COM-1", "COM-2", "COM-3", "COM-4", "MIN-A", "MIN-B"]


async def test_an_impossible_period_is_a_422(service: Service) -> None:
    reversed_period = await service.client.get(
        "/v1/complaints/stats", params={"from": "2025-10", "to": "2025-09"}
    )
    too_long = await service.client.get(
        "/v1/complaints/stats", params={"from": "2000-01", "to": "2025-09"}
    )
    not_a_month = await service.client.get("/v1/complaints/stats", params={"from": "2025-13"})

    for response in (reversed_period, too_long, not_a_month):
        problem(response, 422)


async def test_with_a_cache_a_page_is_computed_once_per_period(service: Service) -> None:
    settings = service.settings.model_copy(update={"stats_cache_s": 60})
    async with running(settings, clock=service.clock, signer=service.signer) as cached:
        ministry = service.administrations[0]
        first = await cached.client.get("/v1/complaints/stats", params={"from": "2025-09"})
        await cached.file(cached.citizen(), ministry)
        again = await cached.client.get("/v1/complaints/stats", params={"from": "2025-09"})
        other = await cached.client.get("/v1/complaints/stats", params={"from": "2025-08"})

    assert first.headers["cache-control"] == "public, max-age=60"
    assert again.json() == first.json()
    figures = {item["code"]: item for item in other.json()["items"]}
    assert figures["MIN-A"]["received"] == 1
