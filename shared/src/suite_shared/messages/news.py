"""The news service's documents on NATS: every stored story (`news.article`) and every scored one
(`news.scored`). Both are kept in the NEWS stream, so a consumer that was away, or a store that lost its
data, can catch up from it.

`published_at` is the publisher's time (ISO-8601 UTC on the wire, as the contract says); `ingested_at` is
when we first read the story (epoch ms). Sentiment stays `None` until the ai service has scored the story.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, field_serializer, field_validator

Sentiment = Literal["positive", "negative", "neutral"]
# A story's summary is a string, empty when its source gave none (the contract; clients render it as is). A
# null from a source, or from a story stored before this rule, reads as empty.
Summary = Annotated[
    str,
    BeforeValidator(lambda value: "" if value is None else value),
    Field(description="plain text from the source's description; empty when it has none"),
]
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


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Article(BaseModel):
    """One story, normalised; after de-duplication it stands for every copy the sources carried."""

    id: str
    title: str
    url: str
    canonical_url: str
    aliases: list[str] = Field(default_factory=list)  # other canonical URLs of the same story (merged copies)
    source: str  # the publisher's display name
    sources: list[str] = Field(default_factory=list)  # providers that carried the story, first seen first
    published_at: datetime | None = None
    ingested_at: int
    language: str = "en"
    summary: Summary = ""
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


class ScoredArticle(BaseModel):
    """`news.scored`: the contract's article with the model's score, when it was ingested and scored, and by
    which model. The WebSocket `news` channel forwards it as it is."""

    id: str
    title: str
    url: str
    source: str
    published_at: str | None = Field(description="ISO-8601 UTC")
    sentiment: Sentiment
    sentiment_score: float = Field(ge=-1.0, le=1.0)
    summary: Summary = ""
    image_url: str | None = None
    tags: list[str] = Field(default_factory=list)
    related_symbols: list[str] = Field(default_factory=list)
    ingested_at: int
    scored_at: int
    sentiment_model: str | None = None
    published_ms: int | None = None

    @classmethod
    def of(cls, article: Article) -> ScoredArticle:
        """The event for a stored article that has its score (ValueError if it has none)."""
        if article.sentiment is None or article.sentiment_score is None or article.scored_at is None:
            raise ValueError(f"article {article.id} has no score")
        return cls.model_validate(
            {
                **article.to_contract(),
                "ingested_at": article.ingested_at,
                "scored_at": article.scored_at,
                "sentiment_model": article.sentiment_model,
                "published_ms": article.published_ms,
            }
        )

    @property
    def at_ms(self) -> int:
        """When the story happened, for recency weighting: the publisher's time, else our first sight of it."""
        return self.published_ms if self.published_ms is not None else self.ingested_at
