"""The deadline scheduler with a frozen clock: overdue once, reminders, escalation, closing."""

from __future__ import annotations

import asyncio
from collections import Counter

from complaints_support import Service, running

from marfiq_complaints.scheduler.runner import Scheduler
from marfiq_shared.db import Database


def replica(service: Service, *, batch: int) -> tuple[Scheduler, Database]:
    """A scheduler as another replica runs it: its own engine, same database and clock."""
    settings = service.settings.model_copy(update={"scheduler_batch": batch})
    database = Database(
        settings.database_url,
        schema="complaints",
        source="complaints-service",
        outbox=service.app.state.db.sessionmaker.kw["info"]["marfiq_outbox"],
    )
    scheduler = Scheduler(
        database, settings=settings, policy=service.app.state.policy, clock=service.clock
    )
    return scheduler, database


async def overdue_by_complaint(service: Service) -> Counter[tuple[str, str]]:
    events = await service.events("complaints.complaint.overdue")
    return Counter((event["data"]["complaint_id"], event["data"]["clock"]) for event in events)


async def test_two_replicas_mark_each_missed_due_date_exactly_once(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    filed = [(await service.file(citizen, ministry))["id"] for _ in range(23)]
    (one, one_db), (two, two_db) = replica(service, batch=4), replica(service, batch=3)
    try:
        # Acknowledgement due at the end of Tuesday 16 Sep 2025 (Casablanca).
        service.clock.advance(days=15, hours=14)  # Tue 16 Sep, 23:00 local: not yet
        assert sum((await asyncio.gather(one.run_once(), two.run_once()))[0].values()) == 0
        service.clock.advance(hours=1)
        await asyncio.gather(one.run_once(), two.run_once(), one.run_once(), two.run_once())
        marked = await overdue_by_complaint(service)
        assert marked == Counter({(complaint, "acknowledge"): 1 for complaint in filed})

        # Still missed a day later: nothing new.
        service.clock.advance(days=1)
        await asyncio.gather(one.run_once(), two.run_once())
        assert await overdue_by_complaint(service) == marked

        listed = await service.client.get(
            "/v1/complaints", params={"overdue": "true", "limit": 100}, headers=agent.headers
        )
        assert len(listed.json()["items"]) == 23
        assert all(item["overdue"] for item in listed.json()["items"])
        timeline = await service.scalar(
            "SELECT count(*) FROM complaints.timeline WHERE action = 'overdue'"
        )
        assert timeline == 23

        # Acknowledged late: no longer overdue, until the answer due date is missed too.
        await service.step(agent, filed[0], "acknowledge")
        after = await service.client.get(f"/v1/complaints/{filed[0]}", headers=agent.headers)
        assert after.json()["overdue"] is False
        service.clock.advance(days=46)  # past Friday 31 Oct 2025
        await asyncio.gather(one.run_once(), two.run_once())
        answers = await overdue_by_complaint(service)
        assert answers - marked == Counter({(complaint, "answer"): 1 for complaint in filed})
    finally:
        await one_db.dispose()
        await two_db.dispose()


async def test_the_assigned_agent_is_reminded_once_before_the_due_date(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent, colleague = service.citizen(), service.agent(ministry), service.agent(ministry)
    created = await service.file(citizen, ministry)
    await service.step(agent, created["id"], "acknowledge")
    await service.step(agent, created["id"], "assign", {"assignee_id": agent.sub})
    scheduler: Scheduler = service.app.state.scheduler

    service.clock.advance(days=56)  # Sun 26 Oct: 5 days before the answer is due
    assert (await scheduler.run_once())["reminders"] == 0
    service.clock.advance(days=3)  # Wed 29 Oct: within the 3-day lead
    assert (await scheduler.run_once())["reminders"] == 1
    assert (await scheduler.run_once())["reminders"] == 0
    await service.step(agent, created["id"], "assign", {"assignee_id": colleague.sub})
    assert (await scheduler.run_once())["reminders"] == 1

    reminders = await service.events("complaints.complaint.reminder_due")
    assert [event["data"]["assignee_id"] for event in reminders] == [agent.sub, colleague.sub]
    assert reminders[0]["data"]["due_at"] == "2025-10-31T22:59:59Z"
    notices = await service.events("identity.notification.requested")
    reminded = [n["data"]["recipient_sub"] for n in notices if n["data"]["kind"].endswith("due")]
    assert reminded == [agent.sub, colleague.sub]


async def test_overdue_complaints_are_escalated_once_after_the_grace_period(
    service: Service,
) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)
    scheduler: Scheduler = service.app.state.scheduler

    service.clock.advance(days=16)
    assert (await scheduler.run_once())["overdue"] == 1
    service.clock.advance(seconds=service.settings.escalation_delay_s - 60)
    assert (await scheduler.run_once())["escalations"] == 0
    service.clock.advance(seconds=120)
    assert (await scheduler.run_once())["escalations"] == 1
    assert (await scheduler.run_once())["escalations"] == 0

    (escalated,) = await service.events("complaints.complaint.escalated")
    assert escalated["data"]["clock"] == "acknowledge"
    assert escalated["data"]["administration_id"] == str(ministry.id)
    detail = await service.client.get(f"/v1/complaints/{created['id']}", headers=citizen.headers)
    assert [e["action"] for e in detail.json()["timeline"]] == ["submit", "overdue", "escalate"]

    # Acknowledging ends this overdue spell; missing the answer later starts a new one.
    await service.step(agent, created["id"], "acknowledge")
    service.clock.advance(days=60)
    done = await scheduler.run_once()
    assert done["overdue"] == 1
    service.clock.advance(seconds=service.settings.escalation_delay_s + 1)
    assert (await scheduler.run_once())["escalations"] == 1


async def test_an_answer_nobody_reopened_is_closed_after_the_window(service: Service) -> None:
    ministry = service.administrations[0]
    citizen, agent = service.citizen(), service.agent(ministry)
    created = await service.file(citizen, ministry)
    await service.step(agent, created["id"], "acknowledge")
    await service.step(agent, created["id"], "answer", {"answer": "Réglé."})
    scheduler: Scheduler = service.app.state.scheduler

    service.clock.advance(days=30)
    assert (await scheduler.run_once())["closing"] == 0
    service.clock.advance(days=1)
    assert (await scheduler.run_once())["closing"] == 1

    detail = await service.client.get(f"/v1/complaints/{created['id']}", headers=citizen.headers)
    assert detail.json()["status"] == "closed"
    assert detail.json()["timeline"][-1]["actor_role"] == "system"
    (closed,) = await service.events("complaints.complaint.closed")
    assert closed["data"]["actor_role"] == "system"
    # The citizen can still rate a complaint the service closed.
    rated = await service.step(citizen, created["id"], "rating", {"rating": 2})
    assert rated.status_code == 200


async def test_the_scheduler_runs_by_itself_from_the_lifespan(service: Service) -> None:
    ministry = service.administrations[0]
    await service.file(service.citizen(), ministry)
    service.clock.advance(days=20)
    settings = service.settings.model_copy(
        update={"scheduler_enabled": True, "scheduler_interval_s": 0.05}
    )
    async with running(settings, clock=service.clock, signer=service.signer) as second:
        for _ in range(100):
            if await second.events("complaints.complaint.overdue"):
                break
            await asyncio.sleep(0.02)
        assert len(await second.events("complaints.complaint.overdue")) == 1
