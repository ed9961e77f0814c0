"""Polling the news sources on a schedule that fits their budgets, never per request.

Each source has its own loop. Before a poll, a replica takes the source's poll slot in Redis
(`news:poll:<source>`, SET NX for the poll interval), so however many replicas run — and however often
they restart — a source is polled once per interval. A failing source is logged and counted; the others
keep going. New stories are de-duplicated (canonical URL across replicas via Redis, near-identical titles
against the stories of the last 48 h), stored with their `news.article` event in the outbox (outbox.py)
and handed to the scorer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from suite_shared.envelope import now_ms
from suite_shared.messages.news import Article
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.tasks import cancel_all
from suite_shared.upstream import UpstreamFailure

from .articles import NewsQuery
from .dedupe import DEFAULT_WINDOW_MS, Deduplicator, merge
from .sources import NewsSource
from .store import NewsStore

log = logging.getLogger(__name__)

POLLS = Counter("news_polls_total", "News source polls by outcome", ["source", "outcome"])
ARTICLES = Counter(
    "news_articles_total", "Articles seen by polls: new stories or merged duplicates", ["source", "result"]
)
LAST_POLL = Gauge("news_last_successful_poll_timestamp_seconds", "When each source last answered", ["source"])


@dataclass
class SourceStatus:
    last_success_ms: int | None = None
    last_error: str | None = None
    errors: int = 0


@dataclass
class Ingestor:
    store: NewsStore
    redis: RedisLink
    sources: list[tuple[NewsSource, float]]  # (source, poll interval s)
    on_new: asyncio.Event  # set when there is something new to score
    status: dict[str, SourceStatus] = field(default_factory=dict)
    dedupe: Deduplicator = field(default_factory=Deduplicator)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _seeded: bool = False

    def start(self) -> None:
        for source, interval in self.sources:
            self.status[source.name] = SourceStatus()
            self._tasks.append(asyncio.create_task(self._loop(source, interval), name=f"poll-{source.name}"))

    async def stop(self) -> None:
        await cancel_all(self._tasks)

    async def _loop(self, source: NewsSource, interval_s: float) -> None:
        while True:
            try:
                if await self._take_slot(source.name, interval_s):
                    await self.poll(source)
            except asyncio.CancelledError:
                raise
            except RedisDown:
                log.warning("news: Redis down, %s poll skipped", source.name)
            except Exception:  # a bug in one source must not stop the loop
                log.exception("news: %s poll crashed", source.name)
            await asyncio.sleep(min(interval_s, 5.0))

    async def _take_slot(self, name: str, interval_s: float) -> bool:
        taken = await self.redis.call(
            lambda client: client.set(f"news:poll:{name}", "1", nx=True, px=int(interval_s * 1000))
        )
        return bool(taken)

    async def poll(self, source: NewsSource) -> int:
        """One poll of one source; returns how many new stories it brought."""
        status = self.status.setdefault(source.name, SourceStatus())
        try:
            articles = await source.fetch(NewsQuery())
        except UpstreamFailure as exc:
            POLLS.labels(source.name, "error").inc()
            status.errors += 1
            status.last_error = f"{type(exc).__name__}: {exc.reason}"  # the class of failure, never a body
            log.warning("news: %s poll failed: %s", source.name, exc)
            return 0
        async with self._lock:  # one source's batch at a time: the de-duplicator is not shared state-safe
            await self._seed()
            fresh = 0
            for article in articles:
                fresh += await self._ingest(source.name, article)
            await self.store.trim(now_ms())
        # A success once its articles are stored (so "answered" in /health means "and it is in the store").
        POLLS.labels(source.name, "ok").inc()
        status.last_success_ms = now_ms()
        status.last_error = None
        LAST_POLL.labels(source.name).set(time.time())
        if fresh:
            self.on_new.set()
        return fresh

    async def _seed(self) -> None:
        """Load the stories of the de-duplication window once, so a restarted replica keeps ids stable."""
        if self._seeded:
            return
        since = now_ms() - DEFAULT_WINDOW_MS
        for story in await self.store.recent(since):
            self.dedupe.add(story)
        self._seeded = True

    async def _ingest(self, source: str, article: Article) -> int:
        match = self.dedupe.find(article)
        if match is None:
            # Another replica may have stored this URL since we last looked: take its story as the match.
            known_id = await self.store.story_for_url(article.canonical_url)
            stored = await self.store.get([known_id]) if known_id is not None else []
            if stored:
                self.dedupe.add(stored[0])
                match = self.dedupe.find(article)
        if match is not None:
            merged = merge(match, article)
            if merged != match:
                # The stored copy may hold what other replicas merged in (sources, tags) and the story's
                # score (which keeps its `sent:` index entry in step): merge into the stored one.
                stored = await self.store.get([match.id])
                base = stored[0] if stored else match
                merged = merge(base, article)
                self.dedupe.add(merged)
                await self.store.save(merged)
            ARTICLES.labels(source, "duplicate").inc()
            return 0
        story, _ = self.dedupe.add(article)
        await self.store.save(story, new=True)  # its news.article goes out through the outbox (outbox.py)
        ARTICLES.labels(source, "new").inc()
        return 1
