"""Articles in Redis, shared by every news replica, kept for `NEWS_RETENTION_DAYS`.

Keys (all under `news:`):
- `a:<id>`: the article as JSON (expires with the retention window);
- `url:<canonical url>`: the story id a URL belongs to (cross-replica de-duplication by URL);
- `time`: every id scored by its sort time (the source's `published_at`, else when we ingested it);
- `ingested`: every id scored by when we first ingested it (for `as_of`, no look-ahead);
- `cat:<tag>`, `lang:<code>`, `sent:<label>`, `src:<publisher>`: the same ids, per filter value, scored by
  sort time, so a filtered page is one ZINTERSTORE and a ZREVRANGE whatever the number of articles;
- `unscored`: ids the ai service has not scored yet, scored by ingest time (oldest offered first);
- `scores`: id → the model's score (label, score, when, which model), kept apart from the article so that
  a poll merging a duplicate into a story can never overwrite a score given meanwhile;
- `outbox`: the `news.article` / `news.scored` events of stored changes not yet in the NEWS stream, written
  in the same transaction as the change (so a crash between storing and publishing loses nothing);
- `epoch`: present once the store holds what the NEWS stream holds; absent after a flush (rebuild.py).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, get_args

import orjson
import redis.asyncio as aioredis

from suite_shared.envelope import now_ms
from suite_shared.messages.news import Article, Sentiment
from suite_shared.redis_link import RedisLink, as_texts

PREFIX = "news:"
TAGS = ("bitcoin", "ethereum", "defi", "nft")
SCAN_LIMIT = 5000  # articles examined for an `as_of` query (newest first)
SCORES = f"{PREFIX}scores"
OUTBOX = f"{PREFIX}outbox"  # "<kind>:<id>" → when queued: events to publish (outbox.py)
SCORE_FIELDS = ("sentiment", "sentiment_score", "scored_at", "sentiment_model")


def outbox_entry(kind: str, article_id: str) -> str:
    return f"{kind}:{article_id}"


def _article_key(article_id: str) -> str:
    return f"{PREFIX}a:{article_id}"


def source_key(publisher: str) -> str:
    """The index key of a publisher's stories: its name case-folded, spaces collapsed (`CoinDesk` → `coindesk`)."""
    return f"{PREFIX}src:" + " ".join(publisher.casefold().split())


@dataclass(frozen=True)
class Page:
    total: int
    articles: list[Article]
    size: int = 0  # bytes read from Redis for it


class NewsStore:
    def __init__(self, redis: RedisLink, retention_s: float) -> None:
        self.redis = redis
        self.retention_ms = int(retention_s * 1000)
        self.queued = asyncio.Event()  # set when an event was queued in the outbox (the relay waits on it)
        # Called as each of this replica's writes of stories or scores starts and again when it has ended
        # (failed or not), so that nothing read before or during a write is served from memory after it
        # (pages.py).
        self.on_write: list[Callable[[], None]] = []

    async def story_for_url(self, canonical_url: str) -> str | None:
        raw = await self.redis.call(lambda client: client.get(f"{PREFIX}url:{canonical_url}"))
        return raw.decode() if isinstance(raw, bytes) else raw

    async def get(self, ids: Iterable[str]) -> list[Article]:
        """The stories, each with its score if it has one."""
        return (await self._get(ids))[0]

    async def _get(self, ids: Iterable[str]) -> tuple[list[Article], int]:
        """The stories, and how many bytes they took."""
        ids = list(ids)
        if not ids:
            return [], 0

        raws, scores = await self._read_raw(ids)
        articles, size = [], 0
        for raw, score in zip(raws, scores, strict=True):
            if not raw:
                continue
            size += len(raw) + len(score or b"")
            article = Article.model_validate_json(raw)
            if score:
                article = article.model_copy(update=orjson.loads(score))
            articles.append(article)
        return articles, size

    async def _read_raw(self, ids: list[str]) -> tuple[list[bytes | None], list[bytes | None]]:
        """The stored stories and scores of `ids`, raw and in their order (None where there is none)."""

        async def read(client: aioredis.Redis) -> tuple[list[bytes | None], list[bytes | None]]:
            pipe = client.pipeline(transaction=False)
            pipe.mget([_article_key(article_id) for article_id in ids])
            pipe.hmget(SCORES, ids)
            stories, scores = await pipe.execute()
            return stories, scores

        return await self.redis.call(read)

    async def save(self, article: Article, new: bool = False) -> None:
        """Write (or rewrite) a story and its index entries and queue its `news.article` in the outbox, in one
        transaction; `new` also queues it for scoring."""

        async def write(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=True)
            self._write_story(pipe, article, unscored=new and article.sentiment is None)
            pipe.zadd(OUTBOX, {outbox_entry("article", article.id): now_ms()})
            await pipe.execute()

        await self._write(write)
        self.queued.set()

    async def _write(self, write: Callable[[aioredis.Redis], Awaitable[None]]) -> None:
        """A write of stories or scores (see `on_write`)."""
        for written in self.on_write:
            written()
        try:
            await self.redis.call(write)
        finally:
            for written in self.on_write:
                written()

    def _write_story(self, pipe: Any, article: Article, unscored: bool) -> None:
        sort_ms = article.sort_ms
        px = max(1, self.retention_ms - max(0, now_ms() - sort_ms))
        pipe.set(_article_key(article.id), article.model_dump_json(exclude=set(SCORE_FIELDS)), px=px)
        for url in {article.canonical_url, *article.aliases}:
            pipe.set(f"{PREFIX}url:{url}", article.id, px=px)
        pipe.zadd(f"{PREFIX}time", {article.id: sort_ms})
        pipe.zadd(f"{PREFIX}ingested", {article.id: article.ingested_at})
        pipe.zadd(f"{PREFIX}lang:{article.language}", {article.id: sort_ms})
        pipe.zadd(source_key(article.source), {article.id: sort_ms})
        for tag in article.tags:
            if tag in TAGS:
                pipe.zadd(f"{PREFIX}cat:{tag}", {article.id: sort_ms})
        if article.sentiment is not None:
            pipe.zadd(f"{PREFIX}sent:{article.sentiment}", {article.id: sort_ms})
        elif unscored:
            pipe.zadd(f"{PREFIX}unscored", {article.id: article.ingested_at})

    async def mark_scored(self, articles: Iterable[Article]) -> None:
        """Record the model's scores for stored stories and queue their `news.scored` in the outbox, in one
        transaction (the articles are not rewritten)."""
        articles = list(articles)

        async def write(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=True)
            self._write_scores(pipe, articles)
            pipe.zadd(OUTBOX, {outbox_entry("scored", article.id): now_ms() for article in articles})
            await pipe.execute()

        if articles:
            await self._write(write)
            self.queued.set()

    @staticmethod
    def _write_scores(pipe: Any, articles: list[Article]) -> None:
        for article in articles:
            pipe.hset(SCORES, article.id, orjson.dumps({field: getattr(article, field) for field in SCORE_FIELDS}))
            pipe.zadd(f"{PREFIX}sent:{article.sentiment}", {article.id: article.sort_ms})
            pipe.zrem(f"{PREFIX}unscored", article.id)

    # -- the outbox: stored changes whose event is not yet in the NEWS stream ------------------------------

    async def pending_events(self, limit: int) -> list[tuple[str, str]]:
        """The oldest outbox entries as (kind, article id): kind `article` or `scored`."""
        raws = await self.redis.call(lambda client: client.zrange(OUTBOX, 0, limit - 1))
        pending = []
        for entry in as_texts(raws):
            kind, _, article_id = entry.partition(":")
            pending.append((kind, article_id))
        return pending

    async def events_sent(self, entries: Iterable[tuple[str, str]]) -> None:
        members = [outbox_entry(kind, article_id) for kind, article_id in entries]
        if members:
            await self.redis.call(lambda client: client.zrem(OUTBOX, *members))

    async def count_pending_events(self) -> int:
        return int(await self.redis.call(lambda client: client.zcard(OUTBOX)))

    # -- rebuilding from the NEWS stream (rebuild.py) ---------------------------------------------------

    async def restore(self, articles: list[Article]) -> int:
        """Write what a replay of the stream holds and the store lost: stories it does not hold (with their
        score, or queued for scoring), and scores of stories a poll stored again meanwhile without one (a
        poll may have stored a newer version; that one is kept). No outbox entries: these events are in the
        stream already. Returns how many stories or scores were written."""
        cutoff = now_ms() - self.retention_ms
        articles = [article for article in articles if article.sort_ms >= cutoff]
        if not articles:
            return 0
        ids = [article.id for article in articles]

        stories, scores = await self._read_raw(ids)
        missing, rescored, requeued = [], [], []
        for article, story, score in zip(articles, stories, scores, strict=True):
            if not story:
                missing.append(article)
            elif score is None and article.sentiment is not None:
                rescored.append(article)
            elif score is None:
                requeued.append(article)

        async def write(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            for article in missing:
                self._write_story(pipe, article, unscored=article.sentiment is None)
            self._write_scores(pipe, [article for article in missing if article.sentiment is not None] + rescored)
            for article in requeued:
                pipe.zadd(f"{PREFIX}unscored", {article.id: article.ingested_at})
            await pipe.execute()

        if missing or rescored or requeued:
            await self._write(write)
        return len(missing) + len(rescored)

    async def unscored(self, limit: int) -> list[str]:
        raws = await self.redis.call(lambda client: client.zrange(f"{PREFIX}unscored", 0, limit - 1))
        return as_texts(raws)

    async def count_unscored(self) -> int:
        return int(await self.redis.call(lambda client: client.zcard(f"{PREFIX}unscored")))

    async def drop_unscored(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            await self.redis.call(lambda client: client.zrem(f"{PREFIX}unscored", *ids))

    async def recent(self, since_ms: int) -> list[Article]:
        """Stories sorted at or after `since_ms`, oldest first (to seed a replica's de-duplicator)."""
        ids = await self.redis.call(lambda client: client.zrangebyscore(f"{PREFIX}time", since_ms, "+inf"))
        return await self.get(as_texts(ids))

    async def trim(self, now_ms: int) -> None:
        """Forget index entries older than the retention window (the articles themselves expire)."""
        cutoff = now_ms - self.retention_ms

        async def run(client: aioredis.Redis) -> None:
            old = await client.zrangebyscore(f"{PREFIX}time", "-inf", cutoff)
            pipe = client.pipeline(transaction=False)
            if old:
                pipe.hdel(SCORES, *old)
            # Per-value indexes whose values are open-ended (languages, publishers).
            open_ended = [key async for key in client.scan_iter(match=f"{PREFIX}lang:*", count=100)]
            open_ended += [key async for key in client.scan_iter(match=f"{PREFIX}src:*", count=100)]
            for key in (
                ["time", "ingested", "unscored"]
                + [f"cat:{tag}" for tag in TAGS]
                + [f"sent:{label}" for label in get_args(Sentiment)]
            ):
                pipe.zremrangebyscore(f"{PREFIX}{key}", "-inf", cutoff)
            for key in open_ended:
                pipe.zremrangebyscore(key, "-inf", cutoff)
            await pipe.execute()

        await self._write(run)

    async def page(
        self, limit: int, category: str, language: str, sentiment: str | None, source: str | None = None
    ) -> Page:
        """The newest `limit` stories matching every filter (`source`: the publisher), and how many match in all."""
        keys = [f"{PREFIX}time", f"{PREFIX}lang:{language}"]
        if source is not None:
            keys.append(source_key(source))
        if category != "all":
            keys.append(f"{PREFIX}cat:{category}")
        if sentiment is not None:
            keys.append(f"{PREFIX}sent:{sentiment}")
        scratch = f"{PREFIX}tmp:{secrets.token_hex(8)}"

        async def run(client: aioredis.Redis) -> tuple[int, list[bytes]]:
            pipe = client.pipeline(transaction=False)
            weights = {key: (1 if index == 0 else 0) for index, key in enumerate(keys)}  # score = sort time
            pipe.zinterstore(scratch, weights)
            pipe.zrevrange(scratch, 0, limit - 1)
            pipe.delete(scratch)
            total, ids, _ = await pipe.execute()
            return int(total), ids

        total, ids = await self.redis.call(run)
        articles, size = await self._get(as_texts(ids))
        return Page(total, articles, size)

    async def as_of(self, as_of_ms: int) -> list[Article]:
        """Stories we had ingested by `as_of_ms` (newest first), as we knew them then: a score that came
        later is removed (scores are given when scored, so `ingested_at` bounds what was known)."""
        ids = await self.redis.call(
            lambda client: client.zrevrangebyscore(f"{PREFIX}ingested", as_of_ms, "-inf", start=0, num=SCAN_LIMIT)
        )
        articles = await self.get(as_texts(ids))
        known = []
        for article in articles:
            if article.published_ms is not None and article.published_ms > as_of_ms:
                continue
            if article.scored_at is None or article.scored_at > as_of_ms:
                article = article.model_copy(update={"sentiment": None, "sentiment_score": None})
            known.append(article)
        known.sort(key=lambda item: item.sort_ms, reverse=True)
        return known
