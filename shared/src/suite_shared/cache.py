"""The shared read-through cache: per-type TTLs, single-flight and stale-if-error.

A value is fresh for its type's TTL and then kept for `stale_retention` more, to be served (marked
stale) when every upstream fails. Concurrent misses for one key make one upstream call: inside a
process they await the same future; across replicas a short Redis lock elects one fetcher and the
others wait for its value. Every value is also kept in a bounded in-process LRU, which answers on its
own while Redis is unreachable.

A key asked for in the last fifth of its fresh life (at most the last 2 s) is refreshed ahead, in the
background, by the same single-flight fill a miss would make: under steady traffic a hot key is replaced
before it expires, so its readers never all wait for the upstream at once. Until then they get the
current value, a fresh hit. The refresh is charged to the client whose request started it.
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
from .errors import RateLimited, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from .fairness import MissAllowance
from .metrics import CACHE_REFRESHES, CACHE_REQUESTS
from .redis_link import RedisDown, RedisLink
from .response_cache import note_read, outside_requests
from .settings import CacheTTLs
from .upstream import ClientBudgetSpent

log = logging.getLogger(__name__)

_RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
_UPSTREAM_ERRORS = (UpstreamError, UpstreamTimeout, UpstreamUnavailable)
REFRESH_AHEAD_SHARE = 0.2  # of a record's fresh life, at its end, in which a hit refreshes it
REFRESH_AHEAD_MAX_MS = 2000


@dataclass
class Fetched:
    """What a fetch produced: the value (JSON-able) and where it came from."""

    value: Any
    source: str
    sources_tried: list[str] = field(default_factory=list)
    as_of: int | None = None
    final: bool | None = None  # overrides the caller's `forever` once the fetch knows (e.g. by its source)


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

    def refresh_from(self) -> int | None:
        """When a hit starts refreshing this record ahead of its expiry (None: fresh for good)."""
        if self.fresh_until == 0:
            return None
        life = self.fresh_until - self.stored_at
        return self.fresh_until - min(int(life * REFRESH_AHEAD_SHARE), REFRESH_AHEAD_MAX_MS)


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
    """In-process LRU of cache records, bounded in bytes (each record counted at its encoded size) and in
    items; answers hits without Redis and stands in for it while Redis is down."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024, max_items: int = 4096) -> None:
        self._items: OrderedDict[str, tuple[CacheRecord, float, int]] = OrderedDict()
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.bytes = 0

    def get(self, key: str) -> CacheRecord | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        record, expires_at, _ = entry
        if expires_at and time.monotonic() > expires_at:
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return record

    def put(self, key: str, record: CacheRecord, keep_s: float, size: int) -> None:
        if size > self.max_bytes // 8:
            self._drop(key)  # one record never takes over the store; it stays in Redis
            return
        self._drop(key)
        self._items[key] = (record, time.monotonic() + keep_s, size)
        self.bytes += size
        while len(self._items) > self.max_items or self.bytes > self.max_bytes:
            self._drop(next(iter(self._items)))

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def _drop(self, key: str) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self.bytes -= entry[2]


class Cache:
    def __init__(
        self,
        redis: RedisLink,
        ttls: CacheTTLs,
        namespace: str,
        lock_s: float = 10.0,
        poll_s: float = 0.05,
        allowance: MissAllowance | None = None,
        local_max_bytes: int = 64 * 1024 * 1024,
        refresh_ahead: bool = True,
    ) -> None:
        self.redis = redis
        self.ttls = ttls
        self.namespace = namespace
        self.lock_s = lock_s
        self.poll_s = poll_s
        self.allowance = allowance
        self.local = LocalStore(local_max_bytes)
        self.refresh_ahead = refresh_ahead
        self._inflight: dict[str, asyncio.Future[CacheResult]] = {}
        self._refreshes: set[asyncio.Task[None]] = set()

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
        if local is not None and local.is_fresh(now := now_ms()):
            self._refresh_if_due(kind, full_key, fetch, local, now, ttl_s, forever)
            return self._count(kind, full_key, CacheResult(local.value, "hit", local))
        stored = await self._read(full_key)
        record = stored[0] if stored else None
        if stored is not None and stored[0].is_fresh(now := now_ms()):
            keep_s = self._retention_s(kind, ttl_s, stored[0].fresh_until == 0)
            self.local.put(full_key, stored[0], keep_s, stored[1])
            self._refresh_if_due(kind, full_key, fetch, stored[0], now, ttl_s, forever)
            return self._count(kind, full_key, CacheResult(stored[0].value, "hit", stored[0]))
        pending = self._inflight.get(full_key)
        if pending is not None:
            result = await asyncio.shield(pending)
            return self._count(
                kind, full_key, CacheResult(result.value, "coalesced" if not result.stale else "stale", result.record)
            )
        future: asyncio.Future[CacheResult] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future
        try:
            result = await self._fill(kind, full_key, fetch, record or local, ttl_s, forever)
            future.set_result(result)
            return self._count(kind, full_key, result)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers re-raise it themselves
            raise
        finally:
            self._inflight.pop(full_key, None)

    def _refresh_if_due(
        self,
        kind: str,
        full_key: str,
        fetch: Callable[[], Awaitable[Fetched]],
        record: CacheRecord,
        now: int,
        ttl_s: float | None,
        forever: bool,
    ) -> None:
        """Start the background refresh of a record near the end of its fresh life (see the module doc)."""
        due = record.refresh_from()
        if not self.refresh_ahead or due is None or now < due or full_key in self._inflight:
            return
        future: asyncio.Future[CacheResult] = asyncio.get_running_loop().create_future()
        self._inflight[full_key] = future  # a miss meanwhile (the record expired first) waits for this fill
        fill = self._refresh(kind, full_key, fetch, record, ttl_s, forever, future)
        task = asyncio.get_running_loop().create_task(fill, context=outside_requests())
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    async def _refresh(
        self,
        kind: str,
        full_key: str,
        fetch: Callable[[], Awaitable[Fetched]],
        record: CacheRecord,
        ttl_s: float | None,
        forever: bool,
        future: asyncio.Future[CacheResult],
    ) -> None:
        try:
            future.set_result(await self._fill(kind, full_key, fetch, record, ttl_s, forever))
            CACHE_REFRESHES.labels(self.namespace, kind).inc()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: followers re-raise it themselves
            if not isinstance(exc, asyncio.CancelledError | RateLimited):
                log.warning("refreshing %s ahead failed: %r", full_key, exc)
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
            if self.allowance is not None and (retry_s := await self.allowance.spend()) is not None:
                return self._refused(previous, retry_s)
            fetched = await fetch()
            record = self._record(kind, fetched, ttl_s, forever)
            # Written before the lock goes: a replica waiting on the lock must find the value when it sees
            # the lock released, or it would fetch again.
            await self._write(full_key, record, self._retention_s(kind, ttl_s, record.fresh_until == 0))
        except ClientBudgetSpent as spent:
            if previous is None:
                raise
            log.info("serving stale %s: the client's share of %s is spent", full_key, spent.upstream)
            return CacheResult(previous.value, "stale", previous)
        except _UPSTREAM_ERRORS:
            if previous is None:
                raise
            log.warning("serving stale %s after upstream failure (as of %s)", full_key, previous.as_of)
            return CacheResult(previous.value, "stale", previous)
        finally:
            if got_lock:
                await self._release(lock_key, token)
        return CacheResult(record.value, "miss", record)

    def _refused(self, previous: CacheRecord | None, retry_s: float) -> CacheResult:
        """The client has used its misses: what we still hold is served (stale), else 429."""
        if previous is not None:
            return CacheResult(previous.value, "stale", previous)
        retry = max(1, int(retry_s))
        raise RateLimited(
            "Too many uncached requests from this client this minute; cached data still answers.",
            {"retry_after_s": retry, "reason": "cache_miss_allowance"},
            {"Retry-After": str(retry)},
        )

    def _record(self, kind: str, fetched: Fetched, ttl_s: float | None, forever: bool) -> CacheRecord:
        forever = fetched.final if fetched.final is not None else forever
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

    def _retention_s(self, kind: str, ttl_s: float | None, forever: bool) -> float:
        """How long a record is kept: its fresh life plus the stale-if-error retention; a record fresh for
        good (a closed candle window) is kept for `final_retention` — every key expires."""
        if forever:
            return self.ttls.final_retention
        return (ttl_s if ttl_s is not None else self.ttls.for_kind(kind)) + self.ttls.stale_retention

    async def _read(self, full_key: str) -> tuple[CacheRecord, int] | None:
        """The stored record and its encoded size."""
        try:
            raw = await self.redis.call(lambda client: client.get(full_key))
        except RedisDown:
            local = self.local.get(full_key)
            return (local, 0) if local is not None else None
        return (CacheRecord(**orjson.loads(raw)), len(raw)) if raw else None

    async def _write(self, full_key: str, record: CacheRecord, keep_s: float) -> None:
        payload = orjson.dumps(asdict(record))
        self.local.put(full_key, record, keep_s, len(payload))
        with contextlib.suppress(RedisDown):
            await self.redis.call(lambda client: client.set(full_key, payload, px=int(keep_s * 1000)))

    async def _fresh(self, full_key: str) -> CacheRecord | None:
        stored = await self._read(full_key)
        return stored[0] if stored is not None and stored[0].is_fresh(now_ms()) else None

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
            if (record := await self._fresh(full_key)) is not None:
                return record
            try:
                if not await self.redis.call(lambda client: client.exists(lock_key)):
                    # Gone: either its value is there now (written just before the release) or it failed.
                    return await self._fresh(full_key)
            except RedisDown:
                return None
        return None

    def _count(self, kind: str, full_key: str, result: CacheResult) -> CacheResult:
        CACHE_REQUESTS.labels(self.namespace, kind, result.status).inc()
        note_read(self.local, full_key, result.record, result.status, self.namespace, kind)
        return result
