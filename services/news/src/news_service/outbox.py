"""Publishing the outbox: every stored change's event reaches the NEWS stream, at least once.

The store writes a change and its outbox entry in one Redis transaction (store.py); the relay here publishes
each entry's event — the story as stored now (`news.article`) or its score (`news.scored`) — with JetStream's
acknowledgement, and only then removes the entry. A crash between storing and publishing, NATS down, a lost
ack: the entry stays and is published again. Repeats are harmless: the message id (the story's id and
version, or its id and score time) makes JetStream drop a repeat within its duplicate window, and every
consumer keys by article id. Every replica may relay; the message ids keep that harmless too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from prometheus_client import Counter, Gauge

from suite_shared.bus import Bus
from suite_shared.messages.news import Article, ScoredArticle
from suite_shared.redis_link import RedisDown
from suite_shared.tasks import cancel_all
from suite_shared.topics import NEWS_ARTICLE, NEWS_SCORED

from .store import SCORE_FIELDS, NewsStore

log = logging.getLogger(__name__)

BATCH = 256
PUBLISHED = Counter("news_events_published_total", "news.article / news.scored events relayed, by outcome", ["outcome"])
PENDING = Gauge("news_outbox_pending", "Stored changes whose event has not reached the NEWS stream yet")


def article_message_id(article: Article) -> str:
    """One id per version of a story (so a new version is a new message, a retry of one is not)."""
    digest = hashlib.sha256(article.model_dump_json().encode()).hexdigest()[:16]
    return f"article:{article.id}:{digest}"


def scored_message_id(article: Article) -> str:
    return f"scored:{article.id}:{article.scored_at}"


class Relay:
    def __init__(self, store: NewsStore, bus: Bus, every_s: float = 2.0) -> None:
        self.store, self.bus, self.every_s = store, bus, every_s
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="news-outbox")

    async def stop(self) -> None:
        await cancel_all([self._task])

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.store.queued.wait(), self.every_s)
            self.store.queued.clear()
            try:
                while await self.relay() == BATCH:
                    pass
                PENDING.set(await self.store.count_pending_events())
            except asyncio.CancelledError:
                raise
            except RedisDown:
                log.info("news outbox: Redis down; will retry")
            except Exception:
                log.exception("news outbox relay failed; will retry")

    async def relay(self) -> int:
        """Publish one batch of pending events; returns how many entries it took (sent or not)."""
        entries = await self.store.pending_events(BATCH)
        articles = {article.id: article for article in await self.store.get({article_id for _, article_id in entries})}
        sent = []
        for kind, article_id in entries:
            article = articles.get(article_id)
            if article is None or (kind == "scored" and article.scored_at is None):
                sent.append((kind, article_id))  # expired meanwhile: nothing left to say
                continue
            try:
                await self._publish(kind, article)
            except Exception as exc:  # NATS away or no ack: the entry stays and comes again
                PUBLISHED.labels("failed").inc()
                self.last_error = f"publishing failed ({type(exc).__name__}); will retry"
                log.info("news outbox: %s %s not published yet (%s)", kind, article_id, type(exc).__name__)
                break
            PUBLISHED.labels(kind).inc()
            self.last_error = None
            sent.append((kind, article_id))
        await self.store.events_sent(sent)
        return len(entries)

    async def _publish(self, kind: str, article: Article) -> None:
        if kind == "article":
            stored = article.model_copy(update=dict.fromkeys(SCORE_FIELDS))  # the story; its score has its own event
            await self.bus.publish_js(NEWS_ARTICLE, stored, msg_id=article_message_id(stored))
        else:
            await self.bus.publish_js(NEWS_SCORED, ScoredArticle.of(article), msg_id=scored_message_id(article))
