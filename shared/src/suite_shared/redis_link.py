"""A Redis connection that knows when Redis is down and fails fast instead of stalling requests.

After a failure, calls are skipped (raising `RedisDown` at once) for `retry_after_s`; then one call is
let through to see whether Redis is back. Callers fall back to in-process state and the service
reports `degraded` while `available` is false.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .metrics import REDIS_AVAILABLE

log = logging.getLogger(__name__)
T = TypeVar("T")


def as_texts(values: Iterable[Any]) -> list[str]:
    """Redis replies (bytes, as the client returns them) as strings."""
    return [value.decode() if isinstance(value, bytes) else str(value) for value in values]


class RedisDown(Exception):
    """Redis could not be reached (or is being skipped after a recent failure)."""


class RedisLink:
    def __init__(self, url: str, service: str, timeout_s: float = 0.5, retry_after_s: float = 2.0) -> None:
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=15,
        )
        self.service = service
        self.retry_after_s = retry_after_s
        self._down_since: float | None = None
        self._skip_until = 0.0
        REDIS_AVAILABLE.labels(service).set(1)

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
            REDIS_AVAILABLE.labels(self.service).set(1)
        return result

    def _mark_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self._down_since is None:
            log.warning("redis unreachable, serving from in-process state: %s", exc)
            self._down_since = now
            REDIS_AVAILABLE.labels(self.service).set(0)
        self._skip_until = now + self.retry_after_s

    async def ping(self) -> bool:
        try:
            return bool(await self.call(lambda client: client.ping()))
        except RedisDown:
            return False

    async def close(self) -> None:
        await self.client.aclose()
