"""Rebuilding the news store from the NEWS stream after the state Redis lost it (a flush, a new server).

The stream keeps every stored story (`news.article`, each version) and every score (`news.scored`) for the
retention window, so it is the record the store is rebuilt from (suite_shared.rebuild: the `news:epoch`
key, a lease, a replay to the stream's end). The replay keeps the last version of each story with its
score and writes those the store does not hold (a poll may have stored newer ones since); stories without a
score go back to the scoring queue. Nothing is published again: the events are in the stream already.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from suite_shared.bus import Bus, StreamRecord
from suite_shared.messages.news import Article, ScoredArticle
from suite_shared.rebuild import StreamRebuild
from suite_shared.redis_link import RedisLink
from suite_shared.topics import NEWS_ARTICLE, NEWS_SCORED, NEWS_STREAM

from .store import PREFIX, NewsStore


def store_rebuild(store: NewsStore, redis: RedisLink, bus: Bus) -> StreamRebuild:
    async def apply(records: AsyncIterator[StreamRecord]) -> int:
        stories: dict[str, Article] = {}
        scores: dict[str, ScoredArticle] = {}
        async for record in records:
            if NEWS_ARTICLE.matches(record.subject):
                story = Article.model_validate_json(record.data)
                stories[story.id] = story  # the stream is in order: the last version wins
            else:
                scored = ScoredArticle.model_validate_json(record.data)
                scores[scored.id] = scored
        return await store.restore([_with_score(story, scores.get(story.id)) for story in stories.values()])

    subjects = [NEWS_ARTICLE.pattern, NEWS_SCORED.pattern]
    return StreamRebuild(PREFIX.rstrip(":"), redis, bus, NEWS_STREAM, subjects, apply)


def _with_score(story: Article, scored: ScoredArticle | None) -> Article:
    if scored is None:
        return story
    return story.model_copy(
        update={
            "sentiment": scored.sentiment,
            "sentiment_score": scored.sentiment_score,
            "scored_at": scored.scored_at,
            "sentiment_model": scored.sentiment_model,
        }
    )
