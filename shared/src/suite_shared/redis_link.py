"""A Redis connection that knows when Redis is down and fails fast instead of stalling requests.

After a failure, calls are skipped (raising `RedisDown` at once) for `retry_after_s`; then one call is
let through to see whether Redis is back. Callers fall back to in-process state and the service
reports `degraded` while `available` is false.

The URL is a plain `redis://[user:password@]host:port/db` or, for a Redis kept highly available by Sentinel,
`redis-sentinel://[user:password@]sentinel1:26379,sentinel2:26379/<master name>/<db>`: the client asks the
Sentinels where the primary is and follows a failover by itself (redis-py's Sentinel support).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis.asyncio as aioredis
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from .metrics import REDIS_AVAILABLE

log = logging.getLogger(__name__)
T = TypeVar("T")
SENTINEL_SCHEME = "redis-sentinel://"


def as_texts(values: Iterable[Any]) -> list[str]:
    """Redis replies (bytes, as the client returns them) as strings."""
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


class RedisDown(Exception):
    """Redis could not be reached (or is being skipped after a recent failure)."""


def connect(url: str, timeout_s: float) -> aioredis.Redis:
    """A client for a plain Redis URL or a `redis-sentinel://` one (see the module doc)."""
    options: dict[str, Any] = {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s}
    if not url.startswith(SENTINEL_SCHEME):
        return aioredis.Redis.from_url(url, health_check_interval=15, **options)
    parts = urlsplit(url)
    hosts = parts.netloc.rsplit("@", 1)[-1]
    master, _, db = parts.path.strip("/").partition("/")
    if not master:
        raise ValueError(f"{url!r} names no Sentinel master: redis-sentinel://host:port,.../<master>/<db>")
    sentinels = [(host, int(port or 26379)) for host, _, port in (item.partition(":") for item in hosts.split(","))]
    sentinel = Sentinel(sentinels, sentinel_kwargs=dict(options), **options)  # type: ignore[no-untyped-call]
    primary: aioredis.Redis = sentinel.master_for(
        master,
        db=int(db or 0),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
    return primary


class RedisLink:
    def __init__(
        self, url: str, service: str, timeout_s: float = 0.5, retry_after_s: float = 2.0, role: str = "state"
    ) -> None:
        self.client: aioredis.Redis = connect(url, timeout_s)
        self.service = service
        self.role = role
        self.retry_after_s = retry_after_s
        self._down_since: float | None = None
        self._skip_until = 0.0
        self._gauge = REDIS_AVAILABLE.labels(service, role)
        self._gauge.set(1)

    @property
    def available(self) -> bool:
        return self._down_since is None

    async def call(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """Run one Redis operation; raise RedisDown on failure or while skipping after one."""
        if self._down_since is not None and time.monotonic() < self._skip_until:
            raise RedisDown("redis unavailable (recent failure)")
        try:
            result = await operation(self.client)
        except (RedisError, OSError) as exc:
            self._mark_down(exc)
            raise RedisDown(str(exc)) from exc
        if self._down_since is not None:
            log.warning("redis is reachable again after %.1fs", time.monotonic() - self._down_since)
            self._down_since = None
            self._gauge.set(1)
        return result

    def _mark_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._down_since is None:
            log.warning("redis (%s) unreachable, serving from in-process state: %s", self.role, exc)
            self._down_since = now
            self._gauge.set(0)
        self._skip_until = now + self.retry_after_s

    async def ping(self) -> bool:
        try:
            return bool(await self.call(lambda client: client.ping()))
        except RedisDown:
            return False

    async def close(self) -> None:
        await self.client.aclose()
