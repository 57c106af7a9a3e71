"""Partner webhooks: each event once, signed the Standard Webhooks way, retried while the
receiver is down, with a delivery log and manual redelivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from correspondence_support import Service, eventually, problem


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Receiver:
    """A partner's HTTP endpoint: records every message with its headers."""

    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/marfiq"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.messages.append({"headers": dict(request.headers), "body": body})
        return web.Response(status=self.fail_with or 204)

    @asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        app = web.Application()
        app.router.add_post("/hooks/marfiq", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        try:
            yield
        finally:
            await runner.cleanup()


def signature_verifies(secret: str, message: dict[str, Any]) -> bool:
    """The receiver's check, written from the Standard Webhooks specification."""
    headers = {key.lower(): value for key, value in message["headers"].items()}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + message["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, candidate) for candidate in given)


async def register(service: Service, agent: Any, url: str, **extra: Any) -> dict[str, Any]:
    response = await service.client.post(
        "/v1/webhooks", json={"url": url} | extra, headers=agent.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_each_event_arrives_once_with_a_signature_that_verifies(service: Service) -> None:
    mef = service.administrations[0]
    partner = service.client_of(mef, "correspondence:read correspondence:write")
    receiver = Receiver(free_port())
    async with receiver.listening():
        hook = await register(service, partner, receiver.url)
        assert hook["secret"].startswith("whsec_")
        citizen, agent = service.citizen(), service.agent(mef)
        created = await service.send(citizen, mef)
        await service.step(agent, created["id"], "assign", {"department": "Courrier"})

        await eventually(lambda: len(receiver.messages) >= 2)
        await eventually(
            lambda: service.scalar(
                "SELECT count(*) FROM correspondence.webhook_deliveries WHERE status = 'delivered'"
            )
        )

    import json

    types = [json.loads(m["body"])["type"] for m in receiver.messages]
    assert sorted(types) == [
        "correspondence.correspondence.assigned",
        "correspondence.correspondence.registered",
    ]
    ids = [m["headers"]["webhook-id"] for m in receiver.messages]
    assert len(set(ids)) == len(ids) == 2
    assert all(signature_verifies(hook["secret"], message) for message in receiver.messages)
    registered = next(
        json.loads(m["body"]) for m in receiver.messages if "registered" in m["body"].decode()
    )
    assert registered["data"]["registration_number"] == created["registration_number"]
    forged = dict(receiver.messages[0]) | {"body": receiver.messages[0]["body"] + b" "}
    assert not signature_verifies(hook["secret"], forged)


async def test_a_receiver_that_was_down_gets_the_message_once_it_is_back(
    service: Service,
) -> None:
    mef = service.administrations[0]
    partner = service.agent(mef)
    receiver = Receiver(free_port())
    hook = await register(
        service, partner, receiver.url, event_types=["correspondence.correspondence.registered"]
    )
    created = await service.send(service.citizen(), mef)

    async def failed_attempts() -> int:
        return int(
            await service.scalar("SELECT count(*) FROM correspondence.webhook_attempts") or 0
        )

    await eventually(lambda: failed_attempts(), within=10)
    assert receiver.messages == []

    async def delivered() -> list[dict]:
        # The receiver holds the message before its 204 reaches the dispatcher, which
        # records the delivery only then.
        log = await service.client.get(
            f"/v1/webhooks/{hook['id']}/deliveries", headers=partner.headers
        )
        items: list[dict] = log.json()["items"]
        return items if items and items[0]["status"] == "delivered" else []

    async with receiver.listening():
        await eventually(lambda: receiver.messages, within=10)
        (delivery,) = await eventually(delivered, within=10)

    (message,) = receiver.messages
    assert signature_verifies(hook["secret"], message)
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] >= 2
    assert delivery["log"][0]["status_code"] is None
    assert delivery["log"][0]["error"]
    assert delivery["log"][-1]["status_code"] == 204
    assert delivery["id"] == message["headers"]["webhook-id"]
    assert created["registration_number"].encode() in message["body"]


async def test_a_partner_asks_for_a_message_again(service: Service) -> None:
    mef = service.administrations[0]
    partner = service.agent(mef)
    receiver = Receiver(free_port())
    async with receiver.listening():
        hook = await register(
            service, partner, receiver.url, event_types=["correspondence.correspondence.registered"]
        )
        await service.send(service.citizen(), mef)
        await eventually(lambda: receiver.messages)
        log = await service.client.get(
            f"/v1/webhooks/{hook['id']}/deliveries", headers=partner.headers
        )
        delivery_id = log.json()["items"][0]["id"]

        again = await service.client.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{delivery_id}/redeliver",
            headers=partner.headers,
        )
        assert again.status_code == 202, again.text
        await eventually(lambda: len(receiver.messages) == 2)

    first, second = receiver.messages
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["body"] == second["body"]
    assert signature_verifies(hook["secret"], second)


async def test_a_receiver_that_keeps_failing_ends_as_failed(service: Service) -> None:
    mef = service.administrations[0]
    partner = service.agent(mef)
    receiver = Receiver(free_port(), fail_with=500)
    async with receiver.listening():
        hook = await register(
            service, partner, receiver.url, event_types=["correspondence.correspondence.registered"]
        )
        await service.send(service.citizen(), mef)
        await eventually(
            lambda: service.scalar(
                "SELECT count(*) FROM correspondence.webhook_deliveries WHERE status = 'failed'"
            ),
            within=15,
        )

    attempts = 1 + len(service.settings.webhook_retry_delays_s)
    assert len(receiver.messages) == attempts
    log = await service.client.get(
        f"/v1/webhooks/{hook['id']}/deliveries?status=failed", headers=partner.headers
    )
    assert log.json()["items"][0]["last_status_code"] == 500


async def test_webhooks_belong_to_their_administration(service: Service) -> None:
    mef, mj = service.administrations[:2]
    hook = await register(service, service.agent(mef), "http://127.0.0.1:9/hooks")
    other = service.agent(mj)

    listed = await service.client.get("/v1/webhooks", headers=other.headers)
    log = await service.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=other.headers)
    deleted = await service.client.delete(f"/v1/webhooks/{hook['id']}", headers=other.headers)
    citizen = await service.client.post(
        "/v1/webhooks", json={"url": "https://example.org/h"}, headers=service.citizen().headers
    )

    assert listed.json() == []
    problem(log, 404)
    problem(deleted, 404)
    problem(citizen, 403)
    assert (
        "secret"
        not in (
            await service.client.get("/v1/webhooks", headers=service.agent(mef).headers)
        ).json()[0]
    )


async def test_only_https_to_public_addresses_when_insecure_urls_are_off(
    service: Service,
) -> None:
    import pytest

    from marfiq_correspondence.webhooks.errors import WebhookUrlRefused
    from marfiq_correspondence.webhooks.service import check_url

    for url in (
        "http://partner.example/h",
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "ftp://x/y",
    ):
        with pytest.raises(WebhookUrlRefused):
            await check_url(url, allow_insecure=False)


async def test_a_batch_of_events_asks_for_subscribers_once_and_queues_each(
    service: Service,
) -> None:
    from sqlalchemy import event as sa_event

    from marfiq_correspondence.webhooks.service import queue_deliveries
    from marfiq_shared.events.catalogue import parse_data
    from marfiq_shared.events.envelope import CloudEvent

    mef = service.administrations[0]
    partner = service.client_of(mef, "correspondence:write")
    hook = await register(service, partner, f"http://127.0.0.1:{free_port()}/hooks")
    citizen = service.citizen()
    for _ in range(3):
        await service.send(citizen, mef)

    async def all_queued() -> bool:
        # The service's own consumer is done with them: nothing else asks meanwhile.
        query = "SELECT count(DISTINCT event_id) FROM correspondence.webhook_deliveries"
        return int(await service.scalar(query)) >= 3

    await eventually(all_queued)
    envelopes = await service.events("correspondence.correspondence.registered")
    events = [CloudEvent.model_validate(envelope) for envelope in envelopes]
    asked: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT correspondence.webhook_endpoints.id"):
            asked.append(statement)  # the subscribers query (not the dispatcher's claim)

    engine = service.database.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(2):  # a second transaction asks again: nothing is kept beyond one
            await service.execute("TRUNCATE correspondence.webhook_deliveries CASCADE")
            async with service.database.sessionmaker() as session, session.begin():
                for item in events:
                    await queue_deliveries(session, item, parse_data(item.type, item.data))
            queued = await service.rows(
                "SELECT endpoint_id, event_id FROM correspondence.webhook_deliveries"
            )
            assert sorted(str(row["event_id"]) for row in queued) == sorted(e.id for e in events)
            assert {str(row["endpoint_id"]) for row in queued} == {hook["id"]}
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert len(asked) == 2
