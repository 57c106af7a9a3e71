"""Partners' deliveries are queued in the step's own transaction (the outbox pattern,
applied to webhooks): there right after the commit, with nothing consumed from the bus,
gone with a rollback, for exactly the endpoints that subscribed, and the dispatcher of the
process is woken by the commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from correspondence_support import Clock, Service, Signer, eventually, make_settings, running
from sqlalchemy import text
from webhooks_support import Receiver, register, signature_verifies

from marfiq_correspondence.app import create_app
from marfiq_correspondence.correspondence import events
from marfiq_correspondence.correspondence import service as correspondence
from marfiq_correspondence.correspondence.access import Viewer
from marfiq_correspondence.correspondence.lifecycle import Action
from marfiq_correspondence.correspondence.models import Correspondence
from marfiq_correspondence.correspondence.schemas import CorrespondenceCreate
from marfiq_correspondence.settings import CorrespondenceSettings
from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.inprocess import InProcessTransport
from marfiq_shared.testing import free_port

STEP = "correspondence.correspondence."
COUNT = "SELECT count(*) FROM correspondence.webhook_deliveries"


@asynccontextmanager
async def without_relay(settings: CorrespondenceSettings, signer: Signer) -> AsyncIterator[Service]:
    """The service with its outbox relay never started: no event leaves the outbox, so
    nothing is consumed from the bus either."""
    bus = InProcessTransport()
    await bus.open()
    try:
        app = create_app(
            settings, transport=bus, jwks_fetcher=signer.jwks, clock=Clock(), relay_on_start=False
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://correspondence"
            ) as client,
        ):
            started = Service(app, client, signer, settings, Clock())
            started.administrations = [
                await started.administration(code) for code in ("MEF", "MJ", "MSP")
            ]
            yield started
    finally:
        await bus.close()


@pytest.fixture
async def quiet(settings: CorrespondenceSettings, signer: Signer) -> AsyncIterator[Service]:
    async with without_relay(settings, signer) as started:
        yield started


@pytest.fixture
async def slow_poll(
    database_url: str, clean: None, tmp_path: Path, pki_dir: Path, signer: Signer
) -> AsyncIterator[Service]:
    """The service whose dispatcher polls every 30 s: only a wake-up sends promptly."""
    settings = make_settings(database_url, tmp_path, pki_dir, webhook_poll_s=30.0)
    async with running(settings, signer=signer, clock=Clock()) as started:
        started.administrations = [await started.administration("MEF")]
        yield started


def as_consumed(published: bytes) -> bytes:
    """The payload the consumer of the published event built when deliveries were queued
    from the bus: what partners have been verifying signatures over."""
    event = CloudEvent.from_json(published)
    return orjson.dumps(
        {
            "type": event.type,
            "timestamp": event.time,
            "id": event.id,
            "subject": event.subject,
            "data": event.data,
        },
        option=orjson.OPT_UTC_Z,
    )


async def deliveries(service: Service) -> list[Any]:
    return await service.rows(
        "SELECT d.endpoint_id, d.event_id, d.event_type, d.payload, d.status, d.created_at,"
        " o.payload AS published, o.published_at, o.created_at AS event_time"
        " FROM correspondence.webhook_deliveries d"
        " JOIN correspondence.outbox o ON o.id = d.event_id ORDER BY o.created_at"
    )


async def test_a_filing_and_a_step_queue_their_deliveries_before_any_event_is_consumed(
    quiet: Service,
) -> None:
    mef = quiet.administrations[0]
    agent = quiet.agent(mef)
    hook = await register(quiet, agent, f"http://127.0.0.1:{free_port()}/hooks")

    created = await quiet.send(quiet.citizen(), mef)  # the driver path
    after_filing = await deliveries(quiet)
    assigned = await quiet.step(agent, created["id"], "assign", {"department": "Courrier"})
    assert assigned.status_code == 200, assigned.text  # the ORM path
    after_step = await deliveries(quiet)

    assert [row["event_type"] for row in after_filing] == [STEP + "registered"]
    assert [row["event_type"] for row in after_step] == [STEP + "registered", STEP + "assigned"]
    for row in after_step:
        assert row["published_at"] is None  # the event never left the outbox
        assert str(row["endpoint_id"]) == hook["id"]
        assert row["payload"] == as_consumed(row["published"])  # byte for byte
        assert row["created_at"] == row["event_time"]
    registered = orjson.loads(after_step[0]["payload"])
    assert registered["data"]["registration_number"] == created["registration_number"]


class StepFailed(Exception):
    """Raised after a step's statements ran: its transaction rolls back."""


async def assign_then_fail(service: Service, correspondence_id: uuid.UUID, seen: list[int]) -> None:
    async with service.database.sessionmaker() as session, session.begin():
        row = await session.get(Correspondence, correspondence_id)
        assert row is not None
        now = datetime.now(UTC)
        await events.publish_step(
            session,
            row=row,
            action=Action.ASSIGN,
            actor_role="agent",
            now=now,
            extra={"department": "Courrier"},
        )
        seen.append((await session.execute(text(COUNT))).scalar_one())
        raise StepFailed()


async def file_then_fail(
    service: Service, viewer: Viewer, recipient: uuid.UUID, seen: list[int]
) -> None:
    data = CorrespondenceCreate(
        recipient_administration_id=recipient, subject="Demande", body="Je sollicite un acte."
    )
    async with service.database.driver_transaction() as transaction:
        # Begun first, as for an Idempotency-Key: the filing's statements join it (alone,
        # its writing statement would commit by itself).
        await transaction.begin()
        await correspondence.submit_as_person(
            transaction, viewer=viewer, data=data, settings=service.settings, now=datetime.now(UTC)
        )
        seen.append(await (await transaction.begin()).fetchval(COUNT))
        raise StepFailed()


async def test_a_step_that_rolls_back_leaves_no_delivery(service: Service) -> None:
    mef = service.administrations[0]
    await register(service, service.agent(mef), f"http://127.0.0.1:{free_port()}/hooks")
    citizen = service.citizen()
    created = await service.send(citizen, mef)
    await eventually(lambda: service.scalar(COUNT))

    seen: list[int] = []
    with pytest.raises(StepFailed):  # the ORM path
        await assign_then_fail(service, uuid.UUID(created["id"]), seen)
    with pytest.raises(StepFailed):  # the driver path (a person's filing)
        await file_then_fail(service, Viewer(sub=citizen.sub), mef.id, seen)

    assert seen == [2, 2]  # each was queued in its transaction
    assert await service.scalar(COUNT) == 1
    assert await service.scalar("SELECT count(*) FROM correspondence.correspondence") == 1


async def test_partners_of_each_administration_a_step_concerns_get_it(quiet: Service) -> None:
    mef, mj, msp = quiet.administrations
    url = f"http://127.0.0.1:{free_port()}/hooks"
    hooks = {
        code: (await register(quiet, quiet.agent(admin), url))["id"]
        for code, admin in (("MEF", mef), ("MJ", mj), ("MSP", msp))
    }
    await register(quiet, quiet.agent(mj), url, event_types=[STEP + "assigned"])
    disabled = await register(quiet, quiet.agent(msp), url)
    gone = await quiet.client.delete(
        f"/v1/webhooks/{disabled['id']}", headers=quiet.agent(msp).headers
    )
    assert gone.status_code == 204, gone.text

    # MEF writes to MJ (sender administration and holder), MJ forwards it to MSP.
    letter = await quiet.send(quiet.agent(mef), mj, subject="Demande d'avis juridique")
    forwarded = await quiet.step(
        quiet.agent(mj),
        letter["id"],
        "forward",
        {"administration_id": str(msp.id), "reason": "Compétence du MSP"},
    )
    assert forwarded.status_code == 200, forwarded.text
    at_msp = forwarded.json()["forwarded_to_id"]

    queued: dict[tuple[str, str], set[str]] = {}
    for row in await deliveries(quiet):
        data = orjson.loads(row["payload"])["data"]
        key = (row["event_type"].removeprefix(STEP), data["correspondence_id"])
        names = {name for name, id_ in hooks.items() if id_ == str(row["endpoint_id"])}
        assert names, "a delivery to an endpoint that did not subscribe, or was disabled"
        queued.setdefault(key, set()).update(names)
    assert queued == {
        ("registered", letter["id"]): {"MEF", "MJ"},  # sender administration, holder
        ("forwarded", letter["id"]): {"MEF", "MJ", "MSP"},  # ... and where it went
        ("registered", at_msp): {"MEF", "MJ", "MSP"},  # ... and where it came from
    }


async def test_a_filing_to_an_administration_without_endpoints_writes_no_delivery(
    quiet: Service,
) -> None:
    mef, mj = quiet.administrations[:2]
    await register(quiet, quiet.agent(mj), f"http://127.0.0.1:{free_port()}/hooks")
    citizen = quiet.citizen()

    await quiet.send(citizen, mef)
    none = await quiet.scalar(COUNT)
    await quiet.send(citizen, mj)

    assert none == 0
    assert await quiet.scalar(COUNT) == 1


async def test_the_commit_wakes_the_dispatcher_of_its_process(slow_poll: Service) -> None:
    mef = slow_poll.administrations[0]
    agent = slow_poll.agent(mef)
    receiver = Receiver(free_port())
    async with receiver.listening():
        hook = await register(slow_poll, agent, receiver.url)
        created = await slow_poll.send(slow_poll.citizen(), mef)  # driver transaction
        await eventually(lambda: len(receiver.messages) == 1, within=5)
        await slow_poll.step(agent, created["id"], "assign", {"department": "Courrier"})  # ORM
        await eventually(lambda: len(receiver.messages) == 2, within=5)

    types = [orjson.loads(m["body"])["type"] for m in receiver.messages]
    assert types == [STEP + "registered", STEP + "assigned"]
    assert all(signature_verifies(hook["secret"], m) for m in receiver.messages)
