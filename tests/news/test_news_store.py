"""The news store against real Redis: a score survives a later merge of a duplicate into the story."""

from __future__ import annotations

import time

from harness import Suite
from news_service.dedupe import merge
from news_service.store import NewsStore
from suite_shared.messages.news import Article
from suite_shared.redis_link import RedisLink


def article(url: str, source: str) -> Article:
    now = int(time.time() * 1000)
    return Article(
        id="store-test-1",
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
    await store.save(merged, urls=["https://example.test/a-copy"])
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
