"""The news store against real Redis and NATS: a score survives a later merge of a duplicate into the story;
a stored change's event is published even after a crash between storing and publishing, and not before
JetStream took it; a replay restores what a flush lost."""

from __future__ import annotations

import time
import uuid

from harness import Suite, free_port
from news_service.dedupe import merge
from news_service.outbox import Relay
from news_service.rebuild import store_rebuild
from news_service.store import NewsStore
from suite_shared.bus import Bus
from suite_shared.messages.news import Article, ScoredArticle
from suite_shared.redis_link import RedisLink
from suite_shared.topics import NEWS_ARTICLE, NEWS_SCORED, NEWS_STREAM


def article(url: str, source: str, article_id: str = "store-test-1") -> Article:
    now = int(time.time() * 1000)
    return Article(
        id=article_id,
        title="Bitcoin test headline for the store",
        url=url,
        canonical_url=url,
        source=source,
        sources=[source],
        ingested_at=now,
        tags=["bitcoin"],
        related_symbols=["BTC"],
    )


async def test_a_merge_saved_after_scoring_keeps_the_score(suite: Suite) -> None:
    redis = RedisLink(suite.env.values["REDIS_URL"].rsplit("/", 1)[0] + "/7", "news-test")
    await redis.call(lambda client: client.flushdb())
    store = NewsStore(redis, retention_s=3600)
    story = article("https://example.test/a", "coindesk")
    await store.save(story, new=True)
    assert await store.unscored(10) == [story.id]
    # The poller read the story before the scorer wrote its score, and saves its merge afterwards.
    merged = merge(story, article("https://example.test/a-copy", "decrypt"))
    await store.mark_scored(
        [
            story.model_copy(
                update={"sentiment": "positive", "sentiment_score": 0.7, "scored_at": 1, "sentiment_model": "m@1"}
            )
        ]
    )
    await store.save(merged)
    [stored] = await store.get([story.id])
    assert (stored.sentiment, stored.sentiment_score, stored.sources) == ("positive", 0.7, ["coindesk", "decrypt"])
    assert await store.unscored(10) == []
    page = await store.page(10, "bitcoin", "en", "positive")
    assert page.total == 1 and page.articles[0].id == story.id
    await redis.close()


async def test_trim_forgets_every_index_entry_older_than_the_window(suite: Suite) -> None:
    redis = RedisLink(suite.env.values["REDIS_URL"].rsplit("/", 1)[0] + "/7", "news-test")
    await redis.call(lambda client: client.flushdb())
    store = NewsStore(redis, retention_s=3600)
    story = article("https://example.test/old", "coindesk").model_copy(update={"language": "de"})
    await store.save(story, new=True)
    await store.trim(story.sort_ms + 3600 * 1000 + 1)
    keys = ["news:time", "news:ingested", "news:unscored", "news:cat:bitcoin", "news:lang:de"]
    counts = [await redis.call(lambda client, key=key: client.zcard(key)) for key in keys]
    assert counts == [0, 0, 0, 0, 0]
    await redis.close()


async def fresh_store(suite: Suite) -> tuple[RedisLink, NewsStore]:
    redis = RedisLink(suite.env.values["REDIS_URL"].rsplit("/", 1)[0] + "/7", "news-test")
    await redis.call(lambda client: client.flushdb())
    return redis, NewsStore(redis, retention_s=3600)


async def connected_bus(url: str) -> Bus:
    bus = Bus(url, "news-test")
    bus.start()
    assert await bus.wait_connected(5)
    return bus


async def events_about(bus: Bus, article_id: str) -> list[tuple[str, str]]:
    """(subject, sentiment or "") of every NEWS stream message about this story."""
    found = []
    async for record in bus.replay(NEWS_STREAM, [NEWS_ARTICLE.pattern, NEWS_SCORED.pattern], 1):
        if NEWS_SCORED.matches(record.subject):
            scored = ScoredArticle.model_validate_json(record.data)
            if scored.id == article_id:
                found.append((record.subject, scored.sentiment))
        elif Article.model_validate_json(record.data).id == article_id:
            found.append((record.subject, ""))
    return found


async def test_a_change_stored_before_a_crash_is_published_afterwards_and_only_once_taken(suite: Suite) -> None:
    redis, store = await fresh_store(suite)
    story = article(f"https://example.test/{uuid.uuid4().hex}", "coindesk", f"outbox-{uuid.uuid4().hex[:8]}")
    # The process stores the story and dies before publishing: the event waits in the outbox.
    await store.save(story, new=True)
    assert await store.pending_events(10) == [("article", story.id)]
    # NATS unreachable: the relay keeps the entry rather than dropping it.
    away = Bus(f"nats://127.0.0.1:{free_port()}", "news-test-away")
    assert await Relay(store, away).relay() == 1
    assert await store.count_pending_events() == 1
    # A restarted replica relays it; relaying twice (two replicas) leaves one message in the stream.
    bus = await connected_bus(suite.env.values["NATS_URL"])
    await Relay(store, bus).relay()
    await store.save(story)  # the same version again (a poll that changed nothing)
    await Relay(store, bus).relay()
    assert await store.count_pending_events() == 0
    assert await events_about(bus, story.id) == [("news.article", "")]
    scored = story.model_copy(
        update={"sentiment": "negative", "sentiment_score": -0.4, "scored_at": 2, "sentiment_model": "m@1"}
    )
    await store.mark_scored([scored])
    assert await store.pending_events(10) == [("scored", story.id)]
    await Relay(store, bus).relay()
    assert await events_about(bus, story.id) == [("news.article", ""), ("news.scored", "negative")]
    await bus.close()
    await redis.close()


async def test_a_replay_restores_lost_stories_and_scores_but_keeps_newer_versions(suite: Suite) -> None:
    redis, store = await fresh_store(suite)
    bus = await connected_bus(suite.env.values["NATS_URL"])
    tag = uuid.uuid4().hex[:8]
    kept = article(f"https://example.test/{tag}/kept", "coindesk", f"kept-{tag}")
    lost = article(f"https://example.test/{tag}/lost", "coindesk", f"lost-{tag}")
    repolled = article(f"https://example.test/{tag}/again", "coindesk", f"again-{tag}")
    for story in (kept, lost, repolled):
        await store.save(story, new=True)
    score = {"sentiment": "positive", "sentiment_score": 0.5, "scored_at": 3, "sentiment_model": "m@1"}
    await store.mark_scored([story.model_copy(update=score) for story in (lost, repolled)])
    await Relay(store, bus).relay()
    # The state Redis is flushed; a poll stores one story again (a newer version, unscored) before the rebuild.
    await redis.call(lambda client: client.flushdb())
    newer = merge(repolled, article(f"https://example.test/{tag}/again-copy", "decrypt", f"x-{tag}"))
    await store.save(newer)
    rebuild = store_rebuild(store, redis, bus)
    assert not await rebuild.is_current()
    assert await rebuild.run_once()
    assert await rebuild.is_current()
    stories = {story.id: story for story in await store.get([kept.id, lost.id, repolled.id])}
    assert set(stories) == {kept.id, lost.id, repolled.id}
    assert stories[lost.id].sentiment == "positive" and stories[kept.id].sentiment is None
    assert stories[repolled.id].sources == ["coindesk", "decrypt"]  # the newer version stays ...
    assert stories[repolled.id].sentiment == "positive"  # ... and gets its score back
    assert kept.id in await store.unscored(10) and lost.id not in await store.unscored(10)
    assert await store.pending_events(10) == [("article", repolled.id)]  # only the newer version goes out
    await bus.close()
    await redis.close()
