"""Per-asset news sentiment, kept current from `news.scored` (JetStream stream NEWS).

A durable consumer (`sentiment`, shared by every replica) hands each scored article to one replica, which
records it in Redis: `sentiment:when` (id → article time), `sentiment:asset:<ASSET>` (id → article time)
and `sentiment:score` (id → score). A message is acknowledged only once written, so a replica that was
down, or could not reach Redis, gets it again: after a restart the service catches up from where the
consumer stopped. Aggregates are computed at request time over a window, recency-weighted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import Counter

from suite_shared.bus import Bus, BusUnavailable
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.subjects import NEWS_SCORED, NEWS_STREAM
from suite_shared.tasks import cancel_all

log = logging.getLogger(__name__)

DURABLE = "sentiment"
PREFIX = "sentiment:"
CONSUMED = Counter("sentiment_news_consumed_total", "news.scored messages handled, by outcome", ["outcome"])


@dataclass(frozen=True)
class Aggregate:
    count: int  # articles about the asset in the window
    total: int  # articles about anything in the window
    score: float | None  # recency-weighted mean sentiment score, -1..1 (None: no article)


class NewsAggregates:
    def __init__(self, redis: RedisLink, retention_ms: int) -> None:
        self.redis = redis
        self.retention_ms = retention_ms

    async def add(self, event: dict[str, object]) -> bool:
        """Record one scored article; False when it carries no usable score (it is skipped, not guessed)."""
        article_id, score = event.get("id"), event.get("sentiment_score")
        if not isinstance(article_id, str) or not isinstance(score, (int, float)) or isinstance(score, bool):
            return False
        at = event.get("published_ms") or event.get("ingested_at")
        if not isinstance(at, int):
            return False
        assets = {str(symbol).upper() for symbol in event.get("related_symbols") or [] if isinstance(symbol, str)}

        async def write(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            pipe.zadd(f"{PREFIX}when", {article_id: at})
            pipe.hset(f"{PREFIX}score", article_id, float(score))
            for asset in assets:
                pipe.zadd(f"{PREFIX}asset:{asset}", {article_id: at})
            await pipe.execute()

        await self.redis.call(write)
        return True

    async def summary(self, asset: str | None, window_ms: int, half_life_ms: int, now_ms: int) -> Aggregate:
        since = now_ms - window_ms
        key = f"{PREFIX}asset:{asset}" if asset else f"{PREFIX}when"

        async def read(client: aioredis.Redis) -> tuple[list[tuple[bytes, float]], int]:
            pipe = client.pipeline(transaction=False)
            pipe.zrangebyscore(key, since, "+inf", withscores=True)
            pipe.zcount(f"{PREFIX}when", since, "+inf")
            rows, total = await pipe.execute()
            return rows, int(total)

        rows, total = await self.redis.call(read)
        if not rows:
            return Aggregate(0, total, None)
        ids = [article_id for article_id, _ in rows]
        scores = await self.redis.call(lambda client: client.hmget(f"{PREFIX}score", ids))
        weighted = weights = 0.0
        for (_, at), raw in zip(rows, scores, strict=True):
            if raw is None:
                continue
            weight = math.pow(0.5, max(0.0, now_ms - at) / half_life_ms)
            weighted += weight * float(raw)
            weights += weight
        return Aggregate(len(rows), total, round(weighted / weights, 4) if weights else None)

    async def trim(self, now_ms: int) -> None:
        cutoff = now_ms - self.retention_ms

        async def run(client: aioredis.Redis) -> None:
            old = await client.zrangebyscore(f"{PREFIX}when", "-inf", cutoff)
            if old:
                await client.hdel(f"{PREFIX}score", *old)
            await client.zremrangebyscore(f"{PREFIX}when", "-inf", cutoff)
            async for key in client.scan_iter(match=f"{PREFIX}asset:*", count=500):
                await client.zremrangebyscore(key, "-inf", cutoff)

        await self.redis.call(run)


class NewsConsumer:
    """Pulls `news.scored` through the durable consumer and feeds `NewsAggregates`."""

    def __init__(self, bus: Bus, aggregates: NewsAggregates) -> None:
        self.bus, self.aggregates = bus, aggregates
        self.last_message_ms: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="news-consumer")

    async def stop(self) -> None:
        await cancel_all([self._task])

    async def _run(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away, stream not there yet: try again shortly
                log.info("news consumer: %s (%s); retrying", type(exc).__name__, exc)
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        if not self.bus.connected:
            raise BusUnavailable("NATS not connected")
        js = self.bus.jetstream()
        config = ConsumerConfig(
            durable_name=DURABLE,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30.0,
            max_ack_pending=1000,
        )
        subscription = await js.pull_subscribe(NEWS_SCORED, durable=DURABLE, stream=NEWS_STREAM, config=config)
        last_trim = 0.0
        while True:
            try:
                messages = await subscription.fetch(64, timeout=2.0)
            except NatsTimeout:
                messages = []
            for msg in messages:
                try:
                    event = orjson.loads(msg.data)
                    used = isinstance(event, dict) and await self.aggregates.add(event)
                except RedisDown:
                    CONSUMED.labels("redis_down").inc()
                    await msg.nak(delay=2.0)
                    continue
                except orjson.JSONDecodeError:
                    used = False
                CONSUMED.labels("recorded" if used else "skipped").inc()
                await msg.ack()
                self.last_message_ms = int(time.time() * 1000)
            if time.monotonic() - last_trim > 600:
                with contextlib.suppress(RedisDown):
                    await self.aggregates.trim(int(time.time() * 1000))
                last_trim = time.monotonic()
