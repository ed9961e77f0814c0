"""The cache without Redis (its in-process fallback): single-flight, stale-if-error, TTLs."""

from __future__ import annotations

import asyncio

import pytest

from suite_shared.cache import Cache, Fetched
from suite_shared.errors import UpstreamUnavailable
from suite_shared.redis_link import RedisLink
from suite_shared.settings import CacheTTLs


def offline_cache(ttl_s: float = 60) -> Cache:
    # Port 9 (discard) is closed here: every Redis call fails fast and the cache works in-process.
    return Cache(RedisLink("redis://127.0.0.1:9/0", "test", timeout_s=0.2), CacheTTLs(default=ttl_s), "test")


async def test_concurrent_misses_share_one_fetch() -> None:
    cache = offline_cache()
    calls = 0

    async def fetch() -> Fetched:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return Fetched({"n": calls}, "src")

    results = await asyncio.gather(*(cache.get_or_fetch("thing", "k", fetch) for _ in range(20)))
    assert calls == 1
    assert {result.status for result in results} == {"miss", "coalesced"}
    assert all(result.value == {"n": 1} for result in results)


async def test_fresh_value_is_a_hit_with_its_provenance() -> None:
    cache = offline_cache()
    await cache.get_or_fetch("thing", "k", lambda: _value("a"))
    result = await cache.get_or_fetch("thing", "k", lambda: _value("b"))
    meta = result.meta()
    assert (result.value, meta.cache, meta.source, meta.stale) == ("a", "hit", "src", False)


async def test_expired_value_is_served_stale_when_the_fetch_fails() -> None:
    cache = offline_cache(ttl_s=0.01)
    await cache.get_or_fetch("thing", "k", lambda: _value("old"))
    await asyncio.sleep(0.03)
    result = await cache.get_or_fetch("thing", "k", _failing)
    assert result.value == "old" and result.stale and result.meta().cache == "stale"


async def test_nothing_cached_and_fetch_failing_raises() -> None:
    with pytest.raises(UpstreamUnavailable):
        await offline_cache().get_or_fetch("thing", "k", _failing)


async def test_followers_of_a_failed_fetch_get_the_same_error() -> None:
    cache = offline_cache()

    async def slow_fail() -> Fetched:
        await asyncio.sleep(0.02)
        raise UpstreamUnavailable("down")

    results = await asyncio.gather(
        *(cache.get_or_fetch("thing", "k", slow_fail) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, UpstreamUnavailable) for result in results)


async def test_forever_values_never_expire() -> None:
    cache = offline_cache(ttl_s=0.001)
    await cache.get_or_fetch("candle", "closed", lambda: _value("c"), forever=True)
    await asyncio.sleep(0.01)
    assert (await cache.get_or_fetch("candle", "closed", _failing)).status == "hit"


async def _value(value: str) -> Fetched:
    return Fetched(value, "src")


async def _failing() -> Fetched:
    raise UpstreamUnavailable("every source failed")
