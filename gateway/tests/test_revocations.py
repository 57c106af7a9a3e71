"""The revocation list forgets a session once all its tokens have expired anyway."""

from __future__ import annotations

import pytest

from marfiq_gateway.revocations import RevocationList, revocation_handler
from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.transport import Delivery, PoisonMessage


def test_revoked_session_is_remembered_until_its_tokens_expire() -> None:
    now = [1_000.0]
    revocations = RevocationList(clock=lambda: now[0])
    revocations.revoke("s1", expires_at=1_100.0)
    revocations.revoke("s2")  # no end given: the longest token lifetime
    assert revocations.is_revoked("s1")
    assert not revocations.is_revoked("s3")
    now[0] = 1_101.0
    assert not revocations.is_revoked("s1")
    assert revocations.is_revoked("s2")
    now[0] = 10_000.0
    revocations.prune()
    assert len(revocations) == 0


async def test_malformed_revocation_is_dead_lettered_at_once() -> None:
    handle = revocation_handler(RevocationList())
    event = CloudEvent(source="identity", type="identity.session.revoked", data={"nosid": 1})
    with pytest.raises(PoisonMessage):
        await handle(Delivery(id=event.id, type=event.type, body=event.to_json(), attempt=1))
