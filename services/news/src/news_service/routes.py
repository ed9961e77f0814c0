"""GET /api/news/latest: the newest stories of every source, de-duplicated and scored by the ai model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from suite_shared.envelope import ERROR_RESPONSES, Envelope, Meta, now_ms
from suite_shared.errors import ServiceUnavailable
from suite_shared.messages.news import Article, Sentiment, Summary
from suite_shared.redis_link import RedisDown
from suite_shared.response_cache import reusable_answer

from .articles import Category, matches_category
from .ingest import Ingestor
from .pages import SOURCE
from .state import News, NewsState
from .store import source_key

router = APIRouter(tags=["news"])


class NewsItem(BaseModel):
    id: str
    title: str
    url: str
    source: str
    published_at: str | None = Field(description="ISO 8601, as the source gave it (UTC)")
    sentiment: Sentiment | None = Field(description="from the ai service's model; null until scored")
    sentiment_score: float | None = Field(description="-1…1; null until scored")
    summary: Summary
    image_url: str | None
    tags: list[str]
    related_symbols: list[str]


class NewsResponse(Envelope):
    total: int = Field(description="stories matching the filters (before `limit`)")
    news: list[NewsItem]


@router.get("/api/news/latest", response_model=NewsResponse, responses=ERROR_RESPONSES)
async def latest(
    news: News,
    limit: Annotated[int, Query(ge=1, le=100, description="number of stories")] = 10,
    category: Annotated[Category, Query()] = "all",
    language: Annotated[str, Query(pattern=r"^[a-z]{2}$", description="ISO 639-1 code")] = "en",
    sentiment: Annotated[Sentiment | None, Query(description="only stories the model scored so")] = None,
    as_of: Annotated[int | None, Query(ge=0, description="epoch ms: only what was known then (backtests)")] = None,
) -> NewsResponse:
    return await stories(news, limit, category, language, sentiment, as_of)


async def stories(
    news: NewsState,
    limit: int,
    category: Category,
    language: str,
    sentiment: Sentiment | None,
    as_of: int | None,
    source: str | None = None,
) -> NewsResponse:
    """GET /api/news/latest's answer; `source` (a publisher) narrows it for the compatibility path."""
    store = news.store
    sources_tried, last_poll = _polled(news.ingestor)
    try:
        if as_of is None and last_poll is not None:
            result = await news.pages.page(limit, category, language, sentiment, source, sources_tried, last_poll)
            total, articles, meta = result.value.total, result.value.articles, result.meta()
            reusable_answer(result)
        elif as_of is None:
            page = await store.page(limit, category, language, sentiment, source)
            total, articles, meta = page.total, page.articles, _meta(news.ingestor, None)
        else:
            known = [
                article
                for article in await store.as_of(as_of)
                if _matches(article, category, language, sentiment, source)
            ]
            total, articles, meta = len(known), known[:limit], _meta(news.ingestor, as_of)
    except RedisDown as exc:
        raise ServiceUnavailable("The news store (Redis) is unreachable.") from exc
    return NewsResponse(
        total=total, news=[NewsItem.model_validate(article.to_contract()) for article in articles], meta=meta
    )


def _matches(article: Article, category: Category, language: str, sentiment: str | None, source: str | None) -> bool:
    return (
        matches_category(article, category)
        and article.language == language
        and (sentiment is None or article.sentiment == sentiment)
        and (source is None or source_key(article.source) == source_key(source))
    )


def _polled(ingestor: Ingestor) -> tuple[list[str], int | None]:
    """The sources polled, and when the newest successful poll was (None: none yet)."""
    polled = {name: status.last_success_ms for name, status in ingestor.status.items()}
    return sorted(polled), max((value for value in polled.values() if value is not None), default=None)


def _meta(ingestor: Ingestor, as_of: int | None) -> Meta:
    """Provenance of an answer read from the store: the sources polled, and how fresh the newest poll is."""
    sources_tried, last = _polled(ingestor)
    now = now_ms()
    return Meta(
        source=SOURCE,
        sources_tried=sources_tried,
        cache=None,
        age_ms=None if last is None else now - last,
        stale=False,
        as_of=as_of if as_of is not None else last,
    )


def status_report(ingestor: Ingestor) -> dict[str, Any]:
    return {
        name: {"last_success_ms": status.last_success_ms, "errors": status.errors, "last_error": status.last_error}
        for name, status in ingestor.status.items()
    }
