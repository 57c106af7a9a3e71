"""Partner webhooks: each event once, signed the Standard Webhooks way, retried while the
receiver is down, with a delivery log and manual redelivery."""

from __future__ import annotations

from correspondence_support import Service, eventually, problem
from webhooks_support import Receiver, register, signature_verifies

from marfiq_shared.testing import free_port


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
