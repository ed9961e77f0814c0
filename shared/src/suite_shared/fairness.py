"""A per-client allowance of cache misses, so one client cannot spend the shared upstream budgets.

Every uncached key a request asks for costs an upstream call from budgets all clients share (CoinGecko 50
a minute, Binance's weight, Whale Alert's few calls). Each client — a verified key's id, else its address
(guards.py) — may cause `per_min` such misses a minute, counted in Redis so replicas agree (in process
while Redis is down). Past it, uncached keys are refused (429) while cached ones keep answering. Work done
for no client (NATS requests, background jobs) is not counted.
"""

from __future__ import annotations

import time
from typing import Any

from .caller import current_client
from .redis_link import RedisDown, RedisLink

WINDOW_S = 60


class MissAllowance:
    def __init__(self, redis: RedisLink, per_min_ip: int, per_min_key: int) -> None:
        self.redis = redis
        self.per_min_ip = per_min_ip
        self.per_min_key = per_min_key
        self._local: dict[tuple[str, int], int] = {}

    def limit_for(self, client: str) -> int:
        return self.per_min_key if client.startswith("key:") else self.per_min_ip

    async def spend(self) -> float | None:
        """Count one miss for the current client: None when allowed, else seconds until its window ends."""
        client = current_client()
        if client is None:
            return None
        window = int(time.time()) // WINDOW_S
        count = await self._count(client, window)
        if count <= self.limit_for(client):
            return None
        return float(WINDOW_S - int(time.time()) % WINDOW_S)

    async def _count(self, client: str, window: int) -> int:
        key = f"misses:{client}:{window}"

        async def increment(redis: Any) -> int:
            pipe = redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_S)
            count, _ = await pipe.execute()
            return int(count)

        try:
            return await self.redis.call(increment)
        except RedisDown:
            for stale in [entry for entry in self._local if entry[1] < window]:
                del self._local[stale]
            self._local[(client, window)] = self._local.get((client, window), 0) + 1
            return self._local[(client, window)]
