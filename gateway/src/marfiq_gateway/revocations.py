"""Sessions revoked before their tokens expire (logout, refresh-token reuse).

Identity publishes `identity.session.revoked`; every gateway replica keeps the sids in
memory until the last token of that session has expired anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from marfiq_shared.events.catalogue import SessionRevoked
from marfiq_shared.events.envelope import CloudEvent
from marfiq_shared.events.transport import Delivery, DeliveryHandler, PoisonMessage

log = logging.getLogger("marfiq.gateway.revocations")

SESSION_REVOKED = SessionRevoked.type
# When an event names no end, keep the sid as long as any access token can live (15 min)
# plus the verifier's clock leeway.
DEFAULT_RETENTION_S = 15 * 60 + 60


class RevocationList:
    """Revoked session ids with the time after which remembering them is pointless."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._clock = clock
        self._next_prune = 0.0

    def __len__(self) -> int:
        return len(self._until)

    def revoke(self, sid: str, expires_at: float | None = None) -> None:
        """Refuse tokens of `sid` until `expires_at` (epoch seconds)."""
        now = self._clock()
        until = expires_at if expires_at is not None else now + DEFAULT_RETENTION_S
        self._until[sid] = max(until, self._until.get(sid, 0.0))
        if now >= self._next_prune:
            self.prune(now)

    def is_revoked(self, sid: str) -> bool:
        until = self._until.get(sid)
        if until is None:
            return False
        if until <= self._clock():
            self._until.pop(sid, None)
            return False
        return True

    def prune(self, now: float | None = None) -> None:
        """Forget sessions whose tokens have all expired."""
        now = self._clock() if now is None else now
        self._until = {sid: until for sid, until in self._until.items() if until > now}
        self._next_prune = now + 60.0


def revocation_handler(revocations: RevocationList) -> DeliveryHandler:
    """The subscriber of `identity.session.revoked`: remember the sid until it expires."""

    async def handle(delivery: Delivery) -> None:
        try:
            event = CloudEvent.from_json(delivery.body)
            data = SessionRevoked.model_validate(event.data)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            raise PoisonMessage(f"malformed {SESSION_REVOKED}: {exc}") from exc
        expires_at = data.expires_at.timestamp() if data.expires_at is not None else None
        revocations.revoke(data.sid, expires_at)
        log.info("session revoked", extra={"sid": data.sid})

    return handle
