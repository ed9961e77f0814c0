"""The Dreammaker frontend's `GET /api/news` (deprecated; README "Compatibility with the Dreammaker frontend").

Served by GET /api/news/latest's own function from the same store; the stories are given both as `news`
(what its unified client unwraps) and as `articles` (what its crypto-api client reads), optionally for one
publisher (`source=CoinDesk`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from suite_shared.compat import compat_route
from suite_shared.envelope import ERROR_RESPONSES

from .articles import Category
from .routes import NewsItem, NewsResponse, stories
from .state import News

router = APIRouter()


class ArticlesResponse(NewsResponse):
    articles: list[NewsItem]


@router.get(
    "/api/news",
    response_model=ArticlesResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/news/latest", "`articles` repeats `news`; `source` keeps one publisher's stories."),
)
async def news_compat(
    news: News,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    category: Annotated[Category, Query()] = "all",
    source: Annotated[str | None, Query(min_length=1, max_length=100, description="publisher, e.g. CoinDesk")] = None,
) -> ArticlesResponse:
    answer = await stories(news, limit, category, "en", None, None, source)
    return ArticlesResponse(**answer.model_dump(), articles=answer.news)
