"""Per-asset news sentiment, kept current from `news.scored` (JetStream stream NEWS).

A durable consumer (`sentiment`, shared by every replica) hands each scored article to one replica, which
records it in Redis: `sentiment:when` (id → article time), `sentiment:asset:<ASSET>` (id → article time)
and `sentiment:score` (id → score). A message is acknowledged only once written, so a replica that was
down, or could not reach Redis, gets it again: after a restart the service catches up from where the
consumer stopped. After the state Redis lost the aggregates (a flush), they are rebuilt from the stream
(`rebuild`). Aggregates are computed at request time over a window, recency-weighted.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis

from suite_shared.bus import Bus, DurableConsumer, Redeliver, StreamRecord
from suite_shared.envelope import now_ms
from suite_shared.messages.news import ScoredArticle
from suite_shared.rebuild import StreamRebuild
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.topics import NEWS_SCORED, NEWS_STREAM

log = logging.getLogger(__name__)

DURABLE = "sentiment"
PREFIX = "sentiment:"
TRIM_EVERY_S = 600
REBUILD_BATCH = 500


@dataclass(frozen=True)
class Aggregate:
    count: int  # articles about the asset in the window
    total: int  # articles about anything in the window
    score: float | None  # recency-weighted mean sentiment score, -1..1 (None: no article)


class NewsAggregates:
    def __init__(self, redis: RedisLink, retention_ms: int) -> None:
        self.redis = redis
        self.retention_ms = retention_ms

    async def add(self, *articles: ScoredArticle) -> None:
        """Record scored articles (id, time, score and assets), in one round trip; a repeat changes nothing."""

        async def write(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            for article in articles:
                at = article.at_ms
                pipe.zadd(f"{PREFIX}when", {article.id: at})
                pipe.hset(f"{PREFIX}score", article.id, article.sentiment_score)
                for asset in {symbol.upper() for symbol in article.related_symbols}:
                    pipe.zadd(f"{PREFIX}asset:{asset}", {article.id: at})
            await pipe.execute()

        if articles:
            await self.redis.call(write)

    def rebuild(self, bus: Bus) -> StreamRebuild:
        """The aggregates rebuilt from `news.scored` after the state Redis lost them (`sentiment:epoch`): the
        durable consumer has acknowledged those messages already and would never bring them again."""

        async def apply(records: AsyncIterator[StreamRecord]) -> int:
            cutoff, batch, restored = now_ms() - self.retention_ms, [], 0
            async for record in records:
                article = ScoredArticle.model_validate_json(record.data)
                if article.at_ms >= cutoff:
                    batch.append(article)
                if len(batch) >= REBUILD_BATCH:
                    await self.add(*batch)
                    restored, batch = restored + len(batch), []
            await self.add(*batch)
            return restored + len(batch)

        return StreamRebuild(PREFIX.rstrip(":"), self.redis, bus, NEWS_STREAM, [NEWS_SCORED.pattern], apply)

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


class NewsFeed:
    """Feeds `NewsAggregates` from `news.scored` through the durable consumer, trimming now and then, and
    rebuilds them from the stream when the state Redis lost them."""

    def __init__(self, bus: Bus, aggregates: NewsAggregates) -> None:
        self.aggregates = aggregates
        self.consumer: DurableConsumer[ScoredArticle] = bus.consume(NEWS_SCORED, DURABLE, self.record)
        self.rebuild = aggregates.rebuild(bus)
        self._last_trim = 0.0

    @property
    def last_message_ms(self) -> int | None:
        return self.consumer.last_message_ms

    def start(self) -> None:
        self.rebuild.start()
        self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.rebuild.stop()

    async def record(self, article: ScoredArticle) -> bool:
        try:
            await self.aggregates.add(article)
        except RedisDown as exc:  # not acknowledged: it comes again once Redis is back
            raise Redeliver("Redis down") from exc
        if time.monotonic() - self._last_trim > TRIM_EVERY_S:
            self._last_trim = time.monotonic()
            with contextlib.suppress(RedisDown):
                await self.aggregates.trim(now_ms())
        return True
