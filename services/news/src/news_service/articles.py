"""The standard news model every source fills, and the query the sources answer.

`published_at` is the publisher's time (ISO-8601 UTC on the wire, as the contract says); `ingested_at` is
when we first read the story (epoch ms). Sentiment stays `None` until the ai service has scored the story.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_serializer, field_validator

Category = Literal["all", "bitcoin", "ethereum", "defi", "nft"]
Sentiment = Literal["positive", "negative", "neutral"]
CONTRACT_FIELDS: tuple[str, ...] = (
    "id",
    "title",
    "url",
    "source",
    "published_at",
    "sentiment",
    "sentiment_score",
    "summary",
    "image_url",
    "tags",
    "related_symbols",
)


class NewsQuery(BaseModel):
    """What a poll asks a source for; the defaults are the broad crypto feed ingest polls."""

    category: Category = "all"
    language: str = "en"
    limit: int = Field(default=100, ge=1, le=100)


class Article(BaseModel):
    """One story, normalised; after de-duplication it stands for every copy the sources carried."""

    id: str
    title: str
    url: str
    canonical_url: str
    source: str  # the publisher's display name
    sources: list[str] = Field(default_factory=list)  # providers that carried the story, first seen first
    published_at: datetime | None = None
    ingested_at: int
    language: str = "en"
    summary: str | None = None
    image_url: str | None = None
    tags: list[str] = Field(default_factory=list)
    related_symbols: list[str] = Field(default_factory=list)
    sentiment: Sentiment | None = None
    sentiment_score: float | None = Field(default=None, ge=-1.0, le=1.0)
    scored_at: int | None = None  # ms: when the ai service scored it (None: not yet)
    sentiment_model: str | None = None  # "<model>@<version>" that made the score

    @field_validator("published_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @field_serializer("published_at")
    def _iso(self, value: datetime | None) -> str | None:
        return iso_utc(value) if value else None

    @property
    def published_ms(self) -> int | None:
        return int(self.published_at.timestamp() * 1000) if self.published_at else None

    @property
    def sort_ms(self) -> int:
        """Newest-first ordering key: the publisher's time, or when we saw it if the source gave none."""
        return self.published_ms if self.published_ms is not None else self.ingested_at

    def to_contract(self) -> dict[str, Any]:
        """The item shape of `GET /api/news/latest` (`news` list), nothing more."""
        return self.model_dump(include=set(CONTRACT_FIELDS))


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 time (`Z` or offset) as an aware UTC datetime; naive times are taken as UTC."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def matches_category(article: Article, category: Category) -> bool:
    return category == "all" or category in article.tags
