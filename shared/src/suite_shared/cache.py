"""The shared read-through cache: per-type TTLs, single-flight and stale-if-error.

A value is fresh for its type's TTL and then kept for `stale_retention` more, to be served (marked
stale) when every upstream fails. Concurrent misses for one key make one upstream call: inside a
process they await the same future; across replicas a short Redis lock elects one fetcher and the
others wait for its value. Every value is also kept in a bounded in-process LRU, which answers on its
own while Redis is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from .envelope import CacheStatus, Meta, now_ms
from .errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from .metrics import CACHE_REQUESTS
from .redis_link import RedisDown, RedisLink
from .settings import CacheTTLs

log = logging.getLogger(__name__)

_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_UPSTREAM_ERRORS = (UpstreamError, UpstreamTimeout, UpstreamUnavailable)


@dataclass
class Fetched:
    """What a fetch produced: the value (JSON-able) and where it came from."""

    value: Any
    source: str
    sources_tried: list[str] = field(default_factory=list)
    as_of: int | None = None


@dataclass
class CacheRecord:
    value: Any
    source: str
    sources_tried: list[str]
    as_of: int
    stored_at: int
    fresh_until: int  # epoch ms; 0 means fresh for good (a closed candle)

    def is_fresh(self, at_ms: int) -> bool:
        return self.fresh_until == 0 or at_ms < self.fresh_until


@dataclass
class CacheResult:
    value: Any
    status: CacheStatus
    record: CacheRecord

    @property
    def stale(self) -> bool:
        return self.status == "stale"

    def meta(self) -> Meta:
        return Meta(
            source=self.record.source,
            sources_tried=self.record.sources_tried,
            cache=self.status,
            age_ms=max(0, now_ms() - self.record.as_of),
            stale=self.stale,
            as_of=self.record.as_of,
        )


class LocalStore:
    """Bounded in-process LRU of cache records; the fallback while Redis is down."""

    def __init__(self, max_items: int = 4096) -> None:
        self._items: OrderedDict[str, tuple[CacheRecord, float]] = OrderedDict()
        self.max_items = max_items

    def get(self, key: str) -> CacheRecord | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        record, expires_at = entry
        if expires_at and time.monotonic() > expires_at:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return record

    def put(self, key: str, record: CacheRecord, keep_s: float | None) -> None:
        self._items[key] = (record, time.monotonic() + keep_s if keep_s else 0.0)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)


class Cache:
    def __init__(
        self, redis: RedisLink, ttls: CacheTTLs, namespace: str, lock_s: float = 10.0, poll_s: float = 0.05
    ) -> None:
        self.redis = redis
        self.ttls = ttls
        self.namespace = namespace
        self.lock_s = lock_s
        self.poll_s = poll_s
        self.local = LocalStore()
        self._inflight: dict[str, asyncio.Future[CacheResult]] = {}

    def _key(self, kind: str, key: str) -> str:
        return f"cache:{self.namespace}:{kind}:{key}"

    async def get_or_fetch(
        self,
        kind: str,
        key: str,
        fetch: Callable[[], Awaitable[Fetched]],
        ttl_s: float | None = None,
        forever: bool = False,
    ) -> CacheResult:
        """Return the cached value for (kind, key), fetching it once on a miss; see the module doc."""
        full_key = self._key(kind, key)
        local = self.local.get(full_key)
        if local is not None and local.is_fresh(now_ms()):
            return self._count(kind, CacheResult(local.value, "hit", local))
        record = await self._read(full_key)
        if record is not None and record.is_fresh(now_ms()):
            self.local.put(full_key, record, self._retention_s(kind, ttl_s, forever))
            return self._count(kind, CacheResult(record.value, "hit", record))
        pending = self._inflight.get(full_key)
        if pending is not None:
            result = await asyncio.shield(pending)
            return self._count(
                kind, CacheResult(result.value, "coalesced" if not result.stale else "stale", result.record)
            )
        future: asyncio.Future[CacheResult] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future
        try:
            result = await self._fill(kind, full_key, fetch, record or local, ttl_s, forever)
            future.set_result(result)
            return self._count(kind, result)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers re-raise it themselves
            raise
        finally:
            self._inflight.pop(full_key, None)

    async def _fill(
        self,
        kind: str,
        full_key: str,
        fetch: Callable[[], Awaitable[Fetched]],
        previous: CacheRecord | None,
        ttl_s: float | None,
        forever: bool,
    ) -> CacheResult:
        token = secrets.token_hex(8)
        lock_key = f"lock:{full_key}"
        got_lock = await self._acquire(lock_key, token)
        if not got_lock:
            waited = await self._wait_for_other_fetcher(full_key, lock_key)
            if waited is not None:
                return CacheResult(waited.value, "coalesced", waited)
        try:
            fetched = await fetch()
            record = self._record(kind, fetched, ttl_s, forever)
            # Written before the lock goes: a replica waiting on the lock must find the value when it sees
            # the lock released, or it would fetch again.
            await self._write(full_key, record, self._retention_s(kind, ttl_s, forever))
        except _UPSTREAM_ERRORS:
            if previous is None:
                raise
            log.warning("serving stale %s after upstream failure (as of %s)", full_key, previous.as_of)
            return CacheResult(previous.value, "stale", previous)
        finally:
            if got_lock:
                await self._release(lock_key, token)
        return CacheResult(record.value, "miss", record)

    def _record(self, kind: str, fetched: Fetched, ttl_s: float | None, forever: bool) -> CacheRecord:
        stored_at = now_ms()
        fresh_ms = int((ttl_s if ttl_s is not None else self.ttls.for_kind(kind)) * 1000)
        return CacheRecord(
            fetched.value,
            fetched.source,
            fetched.sources_tried or [fetched.source],
            fetched.as_of or stored_at,
            stored_at,
            0 if forever else stored_at + fresh_ms,
        )

    def _retention_s(self, kind: str, ttl_s: float | None, forever: bool) -> float | None:
        if forever:
            return None
        return (ttl_s if ttl_s is not None else self.ttls.for_kind(kind)) + self.ttls.stale_retention

    async def _read(self, full_key: str) -> CacheRecord | None:
        try:
            raw = await self.redis.call(lambda client: client.get(full_key))
        except RedisDown:
            return self.local.get(full_key)
        return CacheRecord(**orjson.loads(raw)) if raw else None

    async def _write(self, full_key: str, record: CacheRecord, keep_s: float | None) -> None:
        self.local.put(full_key, record, keep_s)
        payload = orjson.dumps(asdict(record))
        expiry = int(keep_s * 1000) if keep_s else None
        with contextlib.suppress(RedisDown):
            await self.redis.call(lambda client: client.set(full_key, payload, px=expiry))

    async def _acquire(self, lock_key: str, token: str) -> bool:
        try:
            return bool(await self.redis.call(lambda c: c.set(lock_key, token, nx=True, px=int(self.lock_s * 1000))))
        except RedisDown:
            return True  # alone without Redis: this process fetches

    async def _release(self, lock_key: str, token: str) -> None:
        with contextlib.suppress(RedisDown):
            await self.redis.call(lambda client: client.eval(_RELEASE_LOCK, 1, lock_key, token))

    async def _wait_for_other_fetcher(self, full_key: str, lock_key: str) -> CacheRecord | None:
        """Another replica holds the lock: wait for its value, or for the lock to go (then fetch ourselves)."""
        deadline = time.monotonic() + self.lock_s
        while time.monotonic() < deadline:
            await asyncio.sleep(self.poll_s)
            record = await self._read(full_key)
            if record is not None and record.is_fresh(now_ms()):
                return record
            try:
                if not await self.redis.call(lambda client: client.exists(lock_key)):
                    # Gone: either its value is there now (written just before the release) or it failed.
                    record = await self._read(full_key)
                    return record if record is not None and record.is_fresh(now_ms()) else None
            except RedisDown:
                return None
        return None

    def _count(self, kind: str, result: CacheResult) -> CacheResult:
        CACHE_REQUESTS.labels(self.namespace, kind, result.status).inc()
        return result
