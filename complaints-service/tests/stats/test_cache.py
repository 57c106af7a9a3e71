"""The statistics cache: a value per key for a while, one computation at a time."""

from __future__ import annotations

import asyncio

import pytest

from marfiq_complaints.stats.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_value_is_kept_for_the_ttl_then_computed_again() -> None:
    clock, calls = Clock(), []

    async def compute() -> int:
        calls.append(clock.now)
        return len(calls)

    cache = TtlCache[int](ttl=60, clock=clock)
    assert await cache.get("k", compute) == 1
    clock.now = 59
    assert await cache.get("k", compute) == 1
    assert await cache.get("other", compute) == 2
    clock.now = 61
    assert await cache.get("k", compute) == 3


async def test_concurrent_requests_share_one_computation() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return "page"

    cache = TtlCache[str](ttl=60)
    first = asyncio.create_task(cache.get("k", compute))
    await started.wait()
    second = asyncio.create_task(cache.get("k", compute))
    first.cancel()  # the caller that started it goes away: the others still get the page
    release.set()

    assert await second == "page"
    assert calls == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failure_is_not_kept() -> None:
    outcomes = iter([RuntimeError("database away"), 7])

    async def compute() -> int:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cache = TtlCache[int](ttl=60)
    with pytest.raises(RuntimeError):
        await cache.get("k", compute)
    assert await cache.get("k", compute) == 7


async def test_no_ttl_means_no_cache_and_the_oldest_entries_go_first() -> None:
    counter = iter(range(100))

    async def compute() -> int:
        return next(counter)

    uncached = TtlCache[int](ttl=0)
    assert [await uncached.get("k", compute) for _ in range(2)] == [0, 1]
    small = TtlCache[int](ttl=60, max_entries=2)
    for key in ("a", "b", "c"):
        await small.get(key, compute)
    assert await small.get("a", compute) == 5
