"""Scoring stored articles with the ai service's text model, over NATS (`ai.sentiment.score`, batched).

The queue of unscored articles lives in Redis (`news:unscored`). The scorer offers the oldest 64 at a
time; when ai does not answer (down, no responders, timeout) or answers an error, the articles stay queued
and are offered again every `NEWS_SCORE_RETRY_S`, or as soon as new articles arrive. Nothing is dropped
and nothing gets a score the model did not give. Each scored article is published on `news.scored`
(JetStream stream NEWS), which the sentiment and stream services consume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import Counter, Gauge

from suite_shared.bus import Bus
from suite_shared.clients import AiClient
from suite_shared.envelope import now_ms
from suite_shared.errors import ApiError, UpstreamUnavailable
from suite_shared.messages.ai import MAX_CHARS, ScoreReply
from suite_shared.messages.news import Article, ScoredArticle
from suite_shared.redis_link import RedisDown, RedisLink, as_texts
from suite_shared.tasks import cancel_all
from suite_shared.topics import NEWS_SCORED

from .store import NewsStore

log = logging.getLogger(__name__)

BATCH = 64
UNPUBLISHED = "news:unpublished"
SCORED = Counter("news_scoring_total", "Scoring batches by outcome", ["outcome"])
UNSCORED = Gauge("news_unscored_articles", "Articles waiting for a sentiment score")


def text_of(article: Article) -> str:
    """What the model reads: the headline (it was trained on headlines), cut to the ai service's limit."""
    return article.title[:MAX_CHARS]


class Scorer:
    def __init__(
        self, store: NewsStore, redis: RedisLink, bus: Bus, wake: asyncio.Event, retry_s: float, timeout_s: float = 5.0
    ) -> None:
        self.store, self.redis, self.bus, self.wake = store, redis, bus, wake
        self.ai = AiClient(bus)
        self.retry_s, self.timeout_s = retry_s, timeout_s
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="news-scorer")

    async def stop(self) -> None:
        await cancel_all([self._task])

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.retry_s)
            self.wake.clear()
            try:
                while await self.score_batch():
                    pass
                await self.republish()
                UNSCORED.set(await self.store.count_unscored())
            except asyncio.CancelledError:
                raise
            except RedisDown:
                log.warning("news scorer: Redis down; will retry")
            except Exception:
                log.exception("news scorer crashed; will retry")

    async def score_batch(self) -> bool:
        """Score the oldest unscored batch; True when a full batch was scored (there may be more)."""
        # One scorer at a time across replicas (a lease a little longer than one request can take).
        got = await self.redis.call(
            lambda client: client.set("news:scoring", "1", nx=True, px=int((self.timeout_s + 5) * 1000))
        )
        if not got:
            return False
        try:
            ids = await self.store.unscored(BATCH)
            if not ids:
                return False
            articles = await self.store.get(ids)
            found = {article.id for article in articles}
            await self.store.drop_unscored(article_id for article_id in ids if article_id not in found)  # expired
            if not articles:
                return True
            reply = await self._ask([text_of(article) for article in articles])
            if reply is None:
                return False
            now = now_ms()
            model = f"{reply.model}@{reply.model_version}" if reply.model else None
            scored = [
                article.model_copy(
                    update={
                        "sentiment": result.label,
                        "sentiment_score": round(result.score, 4),
                        "scored_at": now,
                        "sentiment_model": model,
                    }
                )
                for article, result in zip(articles, reply.scores, strict=True)
            ]
            await self.store.mark_scored(scored)
            await asyncio.gather(*(self._publish(article) for article in scored))
            SCORED.labels("ok").inc()
            self.last_error = None
            return len(ids) == BATCH
        finally:
            with contextlib.suppress(RedisDown):
                await self.redis.call(lambda client: client.delete("news:scoring"))

    async def _ask(self, texts: list[str]) -> ScoreReply | None:
        try:
            return await self.ai.score(texts, self.timeout_s)
        except UpstreamUnavailable as exc:
            SCORED.labels("ai_unavailable").inc()
            self.last_error = f"ai did not answer: {exc.details.get('reason') or exc.message}"
            log.info("news scorer: %s; %d articles stay queued", self.last_error, len(texts))
        except ApiError as exc:
            SCORED.labels("ai_error").inc()
            self.last_error = f"ai answered an error: {exc.code}: {exc.message}"
            log.warning("news scorer: %s", self.last_error)
        return None

    async def _publish(self, article: Article) -> None:
        """Publish with JetStream's ack; when that fails the id is kept and published again later."""
        try:
            # The message id lets JetStream drop a repeat within its duplicate window (a retried publish
            # whose first ack was lost, two scorers racing).
            await self.bus.publish_js(
                NEWS_SCORED,
                ScoredArticle.of(article),
                msg_id=f"scored:{article.id}:{article.scored_at}",
                timeout_s=self.timeout_s,
            )
        except Exception as exc:
            log.warning("news scorer: could not publish %s on %s: %s", article.id, NEWS_SCORED, exc)
            await self.redis.call(lambda client: client.zadd(UNPUBLISHED, {article.id: article.ingested_at}))
            return
        await self.redis.call(lambda client: client.zrem(UNPUBLISHED, article.id))

    async def republish(self) -> None:
        """Publish again the scored articles whose `news.scored` did not reach JetStream."""
        raws = await self.redis.call(lambda client: client.zrange(UNPUBLISHED, 0, BATCH - 1))
        ids = as_texts(raws)
        articles = await self.store.get(ids)
        if len(articles) < len(ids):  # expired meanwhile
            await self.redis.call(lambda client: client.zrem(UNPUBLISHED, *ids))
        await asyncio.gather(*(self._publish(article) for article in articles))
