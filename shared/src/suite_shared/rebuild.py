"""Rebuilding a view held in the state Redis from the JetStream stream it was made from, after Redis lost it.

A service whose Redis data is derived from a stream (the news store from the NEWS stream, the sentiment
aggregates from `news.scored`) keeps an epoch key beside that data (`<view>:epoch`, never expiring). A
flushed or new Redis has no epoch: every few seconds each replica looks, and when it is missing one of
them (a lease, `<view>:rebuilding`) replays the stream into the view and sets the epoch again. The
replay must reach the stream's end (`ReplayIncomplete` otherwise) before the epoch is set, so a rebuild cut
short by NATS is tried again rather than taken for complete. Writing what the stream holds must be
idempotent: the live path keeps writing meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from prometheus_client import Counter

from .bus import Bus, StreamRecord
from .envelope import now_ms
from .redis_link import RedisDown, RedisLink
from .tasks import cancel_all

log = logging.getLogger(__name__)

LEASE_MS = 120_000
REBUILDS = Counter(
    "store_rebuilds_total", "Rebuilds of a Redis-held view from its JetStream stream, by outcome", ["view", "outcome"]
)

Apply = Callable[[AsyncIterator[StreamRecord]], Awaitable[int]]


class StreamRebuild:
    """Keeps the view `name` rebuilt: `apply` gets the stream's records on `subjects` and returns how many
    entries it restored."""

    def __init__(
        self,
        name: str,
        redis: RedisLink,
        bus: Bus,
        stream: str,
        subjects: list[str],
        apply: Apply,
        every_s: float = 5.0,
    ) -> None:
        self.name, self.redis, self.bus = name, redis, bus
        self.stream, self.subjects, self.apply, self.every_s = stream, subjects, apply, every_s
        self.epoch_key, self.lease_key = f"{name}:epoch", f"{name}:rebuilding"
        self.last_restored: int | None = None  # entries the last rebuild by this replica wrote
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"rebuild-{self.name}")

    async def stop(self) -> None:
        await cancel_all([self._task])

    async def is_current(self) -> bool:
        return bool(await self.redis.call(lambda client: client.exists(self.epoch_key)))

    async def _loop(self) -> None:
        while True:
            try:
                if not await self.is_current():
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except RedisDown:
                pass  # looked at again once Redis is back
            except Exception as exc:  # NATS away, replay cut short: the view stays as it is and is tried again
                REBUILDS.labels(self.name, "failed").inc()
                self.last_error = f"rebuild failed ({type(exc).__name__}); will retry"
                log.warning(
                    "%s: rebuild from %s failed (%s: %s); will retry", self.name, self.stream, type(exc).__name__, exc
                )
            await asyncio.sleep(self.every_s)

    async def run_once(self) -> bool:
        """Rebuild now if no other replica is; True when this replica did."""
        taken = await self.redis.call(lambda client: client.set(self.lease_key, "1", nx=True, px=LEASE_MS))
        if not taken:
            return False
        try:
            restored = await self.apply(self.bus.replay(self.stream, self.subjects, 1))
            await self.redis.call(lambda client: client.set(self.epoch_key, now_ms()))
        finally:
            with contextlib.suppress(RedisDown):
                await self.redis.call(lambda client: client.delete(self.lease_key))
        self.last_restored, self.last_error = restored, None
        REBUILDS.labels(self.name, "ok").inc()
        log.warning("%s: rebuilt from the %s stream (%d entries restored)", self.name, self.stream, restored)
        return True
