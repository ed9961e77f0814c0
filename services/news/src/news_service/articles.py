"""The query the sources answer, and helpers around the standard news model every source fills (`Article`,
defined in the shared library because it is also the `news.article` message)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

from suite_shared.messages.news import Article

Category = Literal["all", "bitcoin", "ethereum", "defi", "nft"]


class NewsQuery(BaseModel):
    """What a poll asks a source for; the defaults are the broad crypto feed ingest polls."""

    category: Category = "all"
    language: str = "en"
    limit: int = Field(default=100, ge=1, le=100)


def parse_iso(text: str) -> datetime:
    """An ISO-8601 time (`Z` or offset) as an aware UTC datetime; naive times are taken as UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def matches_category(article: Article, category: Category) -> bool:
    return category == "all" or category in article.tags
