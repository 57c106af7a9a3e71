"""Agents' queues and citizens' lists: filters, keyset pages, search in Arabic and French."""

from __future__ import annotations

from typing import Any

from complaints_support import Person, Service, problem


async def page_ids(service: Service, person: Person, **params: Any) -> list[str]:
    response = await service.client.get("/v1/complaints", params=params, headers=person.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_cursor_pages_walk_the_queue_without_gaps_or_repeats(service: Service) -> None:
    ministry = service.administrations[0]
    agent, citizen = service.agent(ministry), service.citizen()
    filed = []
    for _ in range(7):
        filed.append((await service.file(citizen, ministry))["id"])
        service.clock.advance(minutes=5)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await service.client.get("/v1/complaints", params=params, headers=agent.headers)
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(filed))
    assert await page_ids(service, agent, order="oldest", limit=50) == filed
    wrong_order = await service.client.get(
        "/v1/complaints", params={"order": "oldest", "cursor": cursor or "e30"},
        headers=agent.headers,
    )  # fmt: skip
    problem(wrong_order, 400)
    problem(await service.client.get("/v1/complaints?cursor=%%%", headers=agent.headers), 400)


async def test_queue_filters_by_status_kind_assignee_and_dates(service: Service) -> None:
    ministry = service.administrations[0]
    agent, citizen = service.agent(ministry), service.citizen()
    complaint = await service.file(citizen, ministry)
    service.clock.advance(days=2)
    request = await service.file(citizen, ministry, kind="information_request")
    await service.step(agent, request["id"], "acknowledge")
    await service.step(agent, request["id"], "assign", {"assignee_id": agent.sub})

    assert await page_ids(service, agent, status="assigned") == [request["id"]]
    assert await page_ids(service, agent, status=["submitted", "assigned"]) == [
        request["id"],
        complaint["id"],
    ]
    assert await page_ids(service, agent, kind="complaint") == [complaint["id"]]
    assert await page_ids(service, agent, assignee_id="me") == [request["id"]]
    assert await page_ids(service, agent, created_to="2025-09-01") == [complaint["id"]]
    assert await page_ids(service, agent, created_from="2025-09-02") == [request["id"]]
    assert await page_ids(service, agent, tracking_number=complaint["tracking_number"].lower())
    assert await page_ids(service, agent, tracking_number="PLT-2025-00000-00000") == []
    assert await page_ids(service, citizen, overdue="false") == [request["id"], complaint["id"]]


async def test_text_search_finds_arabic_and_french_words_by_their_start(service: Service) -> None:
    ministry = service.administrations[0]
    agent, citizen = service.agent(ministry), service.citizen()
    water = await service.file(
        citizen, ministry, subject="Coupure d'électricité", description="Réseau défaillant."
    )
    service.clock.advance(minutes=1)
    hospital = await service.file(
        citizen,
        ministry,
        subject="شكاية بخصوص المستشفى الإقليمي",
        description="لم يتم استقبال والدتي في قسم المستعجلات.",
    )

    assert await page_ids(service, agent, q="electricite") == [water["id"]]
    assert await page_ids(service, agent, q="Réseau défail") == [water["id"]]
    assert await page_ids(service, agent, q="مستشفى") == [hospital["id"]]
    assert await page_ids(service, agent, q="المستعجلات") == [hospital["id"]]
    assert await page_ids(service, agent, q="الاقليمي") == [hospital["id"]]
    assert await page_ids(service, agent, q="gaz") == []
    assert await page_ids(service, agent, q="&|!") == [hospital["id"], water["id"]]
