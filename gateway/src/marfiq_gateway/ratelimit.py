"""Rate limits per client address and per client id: fixed windows, in Redis or in memory.

A fixed window (a counter per key and window, expiring with it) costs one round trip in
Redis and one dict lookup in memory; its worst case (twice the limit across a window
boundary) is acceptable for a limit that protects capacity, not a security invariant (the
OTP limits that do protect secrets live in identity, per destination and per address).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Protocol

log = logging.getLogger("marfiq.gateway")


class WindowCounter(Protocol):
    async def hit(self, key: str, window: int) -> int:
        """Count one request for `key` in window number `window`; the count so far."""
        ...

    async def close(self) -> None: ...


class MemoryCounter:
    """Counters of this process only (one gateway replica, or no Redis configured)."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, key: str, window: int) -> int:
        if window != self._window:
            # Every key shares the window boundaries: dropping the old window's dict is the
            # whole clean-up, and memory stays bounded by the clients of one window.
            self._window = window
            self._counts = {}
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        return count

    async def close(self) -> None:
        self._counts = {}


class RedisCounter:
    """Counters shared by every gateway replica: INCR + EXPIRE in one round trip."""

    def __init__(self, url: str, *, window_s: int, timeout_s: float) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._ttl = window_s + 1

    async def hit(self, key: str, window: int) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(f"marfiq:rl:{window}:{key}")
            pipe.expire(f"marfiq:rl:{window}:{key}", self._ttl)
            count, _ = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()


class RateLimiter:
    """How many requests a client may make per window; `check` says how long to wait."""

    def __init__(
        self,
        counter: WindowCounter,
        *,
        per_address: int,
        per_client: int,
        window_s: int,
    ) -> None:
        self.counter = counter
        self.per_address = per_address
        self.per_client = per_client
        self.window_s = window_s
        self._failing_since = 0.0

    async def check_address(self, address: str) -> int | None:
        """None when the address may go on; otherwise Retry-After in seconds."""
        if self.per_address <= 0 or not address:
            return None
        return await self._check("a:" + address, self.per_address)

    async def check_client(self, client_id: str) -> int | None:
        """None when the client (token `sub`) may go on; otherwise Retry-After in seconds."""
        if self.per_client <= 0:
            return None
        return await self._check("c:" + client_id, self.per_client)

    async def _check(self, key: str, limit: int) -> int | None:
        now = time.time()
        window = int(now // self.window_s)
        try:
            count = await self.counter.hit(key, window)
        except Exception as exc:
            # Fail open: the limiter protects capacity, and an unreachable Redis must not
            # turn into a platform-wide outage; services keep their own limits (OTP sends
            # and attempts) whatever happens here. One log line per minute, not per request.
            if now - self._failing_since > 60:
                self._failing_since = now
                log.error(
                    "rate limit store unreachable: requests are not limited",
                    extra={"error": f"{type(exc).__name__}: {exc}"},
                )
            return None
        if count <= limit:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))


def make_rate_limiter(
    *,
    redis_url: str | None,
    per_address: int,
    per_client: int,
    window_s: int,
    timeout_s: float,
) -> RateLimiter | None:
    """The configured limiter, or None when both limits are off."""
    if per_address <= 0 and per_client <= 0:
        return None
    counter: WindowCounter = (
        RedisCounter(redis_url, window_s=window_s, timeout_s=timeout_s)
        if redis_url
        else MemoryCounter()
    )
    return RateLimiter(counter, per_address=per_address, per_client=per_client, window_s=window_s)
