import pytest

from marfiq_shared.events import (
    Delivery,
    InProcessTransport,
    OutgoingEvent,
    UnknownQueue,
    topic_matches,
)


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("identity.administration.created", "identity.administration.created", True),
        ("identity.administration.created", "identity.administration.updated", False),
        ("identity.*.created", "identity.administration.created", True),
        ("identity.*", "identity.administration.created", False),
        ("identity.#", "identity.administration.created", True),
        ("identity.#", "identity", True),
        ("#", "complaints.complaint.answered", True),
        ("#.answered", "complaints.complaint.answered", True),
        ("*.*.answered", "complaints.complaint.reopened", False),
    ],
)
def test_topic_patterns_match_like_rabbitmq(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


async def test_each_bound_queue_gets_its_own_copy(eventually) -> None:
    transport = InProcessTransport()
    await transport.open()
    got: dict[str, list[str]] = {"exact": [], "wildcard": [], "other": []}
    bindings = {
        "exact": ["identity.administration.created"],
        "wildcard": ["identity.#"],
        "other": ["complaints.*.*"],
    }
    for queue, types in bindings.items():

        async def handler(delivery: Delivery, queue: str = queue) -> None:
            got[queue].append(delivery.id)

        await transport.subscribe(queue, types, handler, prefetch=2, retry_delays_ms=[])

    await transport.publish(
        [
            OutgoingEvent(
                "a0f4f6de-0d49-4c4a-9a51-8c2a4a1f2f01", "identity.administration.created", b"{}"
            )
        ]
    )

    async def delivered() -> bool:
        return bool(got["exact"] and got["wildcard"])

    await eventually(delivered, within=2)
    assert len(got["exact"]) == len(got["wildcard"]) == 1
    assert got["other"] == []


async def test_messages_wait_in_the_queue_between_subscriptions(eventually) -> None:
    transport = InProcessTransport()
    await transport.open()
    got: list[str] = []

    async def handler(delivery: Delivery) -> None:
        got.append(delivery.id)

    first = await transport.subscribe("q", ["a.b.c"], handler, prefetch=1, retry_delays_ms=[])
    await first.cancel()
    await transport.publish([OutgoingEvent("a0f4f6de-0d49-4c4a-9a51-8c2a4a1f2f02", "a.b.c", b"{}")])
    assert got == []
    await transport.subscribe("q", ["a.b.c"], handler, prefetch=1, retry_delays_ms=[])

    async def delivered() -> bool:
        return len(got) == 1

    await eventually(delivered, within=2)


async def test_dead_letter_queue_of_an_unknown_queue_is_an_error() -> None:
    with pytest.raises(UnknownQueue):
        await InProcessTransport().dlq_count("nobody")


async def test_transport_is_shared_until_its_last_user_closes() -> None:
    transport = InProcessTransport()
    assert not transport.is_connected
    await transport.open()
    await transport.open()
    await transport.close()
    assert transport.is_connected
    await transport.close()
    assert not transport.is_connected
