"""The cache without Redis (its in-process fallback): single-flight, stale-if-error, TTLs."""

from __future__ import annotations

import asyncio

import pytest

from suite_shared.cache import Cache, CacheRecord, Fetched, LocalStore
from suite_shared.caller import CLIENT
from suite_shared.errors import RateLimited, UpstreamUnavailable
from suite_shared.fairness import MissAllowance
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


async def test_forever_values_stay_fresh_but_are_still_kept_for_a_bounded_time() -> None:
    cache = offline_cache(ttl_s=0.001)
    await cache.get_or_fetch("candle", "closed", lambda: _value("c"), forever=True)
    await asyncio.sleep(0.01)
    assert (await cache.get_or_fetch("candle", "closed", _failing)).status == "hit"
    assert cache._retention_s("candle", None, forever=True) == CacheTTLs().final_retention == 7 * 86_400


async def test_a_hit_near_expiry_refreshes_the_key_once_in_the_background() -> None:
    cache = offline_cache(ttl_s=2)
    calls = 0

    async def fetch() -> Fetched:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return Fetched(calls, "src")

    first = await cache.get_or_fetch("thing", "k", fetch)
    await asyncio.sleep(1.7)  # in the last fifth of the 2 s fresh life
    near = await asyncio.gather(*(cache.get_or_fetch("thing", "k", fetch) for _ in range(20)))
    assert {(result.status, result.value) for result in near} == {("hit", 1)}  # nobody waited for the refresh
    await asyncio.sleep(0.15)
    after = await cache.get_or_fetch("thing", "k", fetch)
    assert calls == 2 and (after.status, after.value) == ("hit", 2)
    assert after.record.as_of > first.record.as_of and after.meta().age_ms is not None
    assert after.meta().age_ms < 1000  # the new value's age, not the first one's (1.85 s by now)


async def test_a_failed_refresh_ahead_keeps_the_value_and_stale_if_error_still_holds() -> None:
    cache = offline_cache(ttl_s=1)
    await cache.get_or_fetch("thing", "k", lambda: _value("old"))
    await asyncio.sleep(0.85)
    near = await cache.get_or_fetch("thing", "k", _failing)  # starts a refresh, which fails
    assert (near.status, near.value) == ("hit", "old")
    await asyncio.sleep(0.25)
    expired = await cache.get_or_fetch("thing", "k", _failing)
    assert expired.value == "old" and expired.stale and expired.meta().cache == "stale"


def test_the_local_store_is_bounded_in_bytes_and_drops_the_least_recently_used() -> None:
    store = LocalStore(max_bytes=1000)
    record = CacheRecord("v", "src", ["src"], 1, 1, 0)
    for index in range(20):
        store.put(f"k{index}", record, 60, 100)
    assert store.bytes <= 1000 and store.get("k19") is record and store.get("k0") is None
    store.put("huge", record, 60, 400)  # over an eighth of the store: not kept in process
    assert store.get("huge") is None and store.bytes <= 1000


async def test_a_client_past_its_miss_allowance_gets_429_for_new_keys_and_stale_for_held_ones() -> None:
    cache = offline_cache(ttl_s=0.01)
    cache.allowance = MissAllowance(cache.redis, per_min_ip=2, per_min_key=100)
    token = CLIENT.set("ip:198.51.100.9")
    try:
        await cache.get_or_fetch("thing", "a", lambda: _value("a"))
        await cache.get_or_fetch("thing", "b", lambda: _value("b"))
        with pytest.raises(RateLimited) as refused:
            await cache.get_or_fetch("thing", "c", lambda: _value("c"))
        assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
        await asyncio.sleep(0.02)  # "a" is no longer fresh: its refresh would be a miss, so it is served stale
        held = await cache.get_or_fetch("thing", "a", lambda: _value("a2"))
        assert held.value == "a" and held.stale
    finally:
        CLIENT.reset(token)
    # Work done for no client (a NATS request, a background job) is not counted.
    assert (await cache.get_or_fetch("thing", "c", lambda: _value("c"))).value == "c"


async def test_keyed_clients_have_their_own_larger_allowance() -> None:
    cache = offline_cache()
    cache.allowance = MissAllowance(cache.redis, per_min_ip=1, per_min_key=3)
    token = CLIENT.set("key:abc")
    try:
        for name in "xyz":
            await cache.get_or_fetch("thing", name, lambda name=name: _value(name))
        with pytest.raises(RateLimited):
            await cache.get_or_fetch("thing", "w", lambda: _value("w"))
    finally:
        CLIENT.reset(token)


async def _value(value: str) -> Fetched:
    return Fetched(value, "src")


async def _failing() -> Fetched:
    raise UpstreamUnavailable("every source failed")
