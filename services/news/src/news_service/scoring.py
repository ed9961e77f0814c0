"""Scoring stored articles with the ai service's text model, over NATS (`ai.sentiment.score`, batched).

The queue of unscored articles lives in Redis (`news:unscored`). The scorer offers the oldest 64 at a
time; when ai does not answer (down, no responders, timeout) or answers an error, the articles stay queued
and are offered again every `NEWS_SCORE_RETRY_S`, or as soon as new articles arrive. Nothing is dropped
and nothing gets a score the model did not give. A score is stored together with its `news.scored` event
in the outbox (store.py), and the relay (outbox.py) puts it on the NEWS stream, which the sentiment and
stream services consume.
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
from suite_shared.messages.news import Article
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.tasks import cancel_all

from .store import NewsStore

log = logging.getLogger(__name__)

BATCH = 64
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
            await self.store.mark_scored(scored)  # with their news.scored events, in one transaction
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
