"""Two steps at once on one complaint: one wins, the other is told it came too late."""

from __future__ import annotations

import asyncio

from complaints_support import Service, problem


async def test_two_simultaneous_acknowledges_give_one_200_and_one_409(service: Service) -> None:
    ministry = service.administrations[0]
    created = await service.file(service.citizen(), ministry)
    alice, bob = service.agent(ministry), service.agent(ministry)

    first, second = await asyncio.gather(
        service.step(alice, created["id"], "acknowledge"),
        service.step(bob, created["id"], "acknowledge"),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert problem(loser, 409)["type"].endswith("/complaint-illegal-transition")
    assert len(await service.events("complaints.complaint.acknowledged")) == 1
    assert await service.scalar("SELECT version FROM complaints.complaints") == 2
    timeline = await service.rows("SELECT action FROM complaints.timeline ORDER BY id")
    assert [row["action"] for row in timeline] == ["submit", "acknowledge"]


async def test_concurrent_different_steps_are_applied_one_after_the_other(
    service: Service,
) -> None:
    ministry = service.administrations[0]
    created = await service.file(service.citizen(), ministry)
    agent = service.agent(ministry)
    assert (await service.step(agent, created["id"], "acknowledge")).status_code == 200

    results = await asyncio.gather(
        *(
            service.step(agent, created["id"], "assign", {"assignee_id": f"agent-{n}"})
            for n in range(5)
        )
    )

    assert [response.status_code for response in results] == [200] * 5
    assert await service.scalar("SELECT version FROM complaints.complaints") == 7
    versions = sorted(response.json()["version"] for response in results)
    assert versions == [3, 4, 5, 6, 7]
