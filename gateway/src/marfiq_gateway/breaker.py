"""A circuit breaker per upstream: stop waiting on a service that keeps failing."""

from __future__ import annotations

import math
import time

from prometheus_client import Gauge

CIRCUIT_OPEN = Gauge(
    "marfiq_gateway_circuit_open",
    "1 while the gateway's circuit to an upstream is open (requests refused at once)",
    ["upstream"],
)


class CircuitBreaker:
    """Closed → open after `threshold` consecutive failures → one probe after `cooldown_s`.

    A failure is a connect error or a timeout (the service is unreachable or stuck); an
    answer of any status, 5xx included, proves the service is there and closes the circuit.
    While the single half-open probe is in flight, other requests are still refused.
    """

    __slots__ = ("_failures", "_opened_at", "_probing", "cooldown_s", "name", "threshold")

    def __init__(self, name: str, *, threshold: int, cooldown_s: float) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allow(self) -> int | None:
        """None when a request may go through; otherwise seconds until the next probe."""
        if self._opened_at is None:
            return None
        waited = time.monotonic() - self._opened_at
        if waited >= self.cooldown_s and not self._probing:
            self._probing = True  # this request is the probe
            return None
        return max(1, math.ceil(self.cooldown_s - waited))

    def succeeded(self) -> None:
        self._failures = 0
        self._probing = False
        if self._opened_at is not None:
            self._opened_at = None
            CIRCUIT_OPEN.labels(self.name).set(0)

    def failed(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            self._probing = False
            self._opened_at = time.monotonic()
            CIRCUIT_OPEN.labels(self.name).set(1)

    def released(self) -> None:
        """The request ended without telling either way (client left, body too large)."""
        self._probing = False
