"""GET /api/sentiment/global and /api/sentiment/symbol/{symbol}."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from suite_shared.assets import TRACKED_ASSETS
from suite_shared.cache import Fetched
from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES, Envelope, Meta, now_ms
from suite_shared.errors import ServiceUnavailable
from suite_shared.messages.sentiment import SymbolSentimentReply
from suite_shared.redis_link import RedisDown
from suite_shared.response_cache import reusable_answer
from suite_shared.service import ServiceContext
from suite_shared.symbols import parse_asset, parse_pair, require_known

from .components import compute
from .fear_greed import FearGreedWord, fear_greed_word
from .state import Sentiment, SentimentState

router = APIRouter(tags=["sentiment"])
Label = Literal["positive", "neutral", "negative"]
HOUR_MS = 3_600_000
LABEL_BAND = 0.15  # an aggregate score within ±0.15 of zero reads neutral


class ComponentsModel(BaseModel):
    volatility: float | None
    market_momentum: float | None
    social_media: float | None = Field(description="from scored news headlines (no social-network source)")
    surveys: float | None = Field(description="no source: always null")
    dominance: float | None
    trends: float | None = Field(description="no source: always null")


class GlobalSentimentResponse(Envelope):
    fearGreedIndex: int = Field(ge=0, le=100, description="Alternative.me Fear & Greed Index")
    fear_greed_index: int = Field(ge=0, le=100, description="the same number as fearGreedIndex")
    sentiment: FearGreedWord = Field(description="the index's classification in lower case (Alternative.me's bands)")
    value_classification: str = Field(description="Alternative.me's own words, e.g. 'Fear'")
    components: ComponentsModel
    description: str
    last_updated: str = Field(description="ISO 8601 time of the index reading")


class SymbolSentimentResponse(Envelope):
    symbol: str
    sentiment_score: float | None = Field(description="recency-weighted mean of the model's news scores, -1…1")
    sentiment: Label | None
    social_volume: int = Field(description="scored news articles about the asset in the window")
    social_dominance: float = Field(description="percent of all scored articles in the window about the asset")
    news_sentiment: float | None
    twitter_sentiment: float | None = Field(description="no Twitter source: always null")
    reddit_sentiment: float | None = Field(description="no Reddit source: always null")
    window_hours: float


def label(score: float | None) -> Label | None:
    if score is None:
        return None
    return "positive" if score > LABEL_BAND else "negative" if score < -LABEL_BAND else "neutral"


@router.get("/api/sentiment/global", response_model=GlobalSentimentResponse, responses=ERROR_RESPONSES)
async def global_sentiment(ctx: Context, state: Sentiment) -> GlobalSentimentResponse:
    async def fetch() -> Fetched:
        result = await state.fear_greed.run(None)
        reading = result.value
        components = await compute(state.market, state.aggregates, now_ms())
        description = (
            f"Fear & Greed {reading.value} ({reading.classification}) per Alternative.me. "
            + "; ".join(components.notes)
            + "."
        )
        value = {
            "fearGreedIndex": reading.value,
            "value_classification": reading.classification,
            "components": components.scores(),
            "description": description,
            "last_updated": datetime.fromtimestamp(reading.as_of / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return Fetched(value, result.source, result.sources_tried, reading.as_of)

    cached = await ctx.cache.get_or_fetch("sentiment", "global", fetch)
    index = int(cached.value["fearGreedIndex"])
    # Derived from the cached index on every answer, so a reading cached by an older release reads the same.
    reading = {**cached.value, "fear_greed_index": index, "sentiment": fear_greed_word(index)}
    reusable_answer(cached)
    return GlobalSentimentResponse(**reading, meta=cached.meta())


def asset_of(raw: str) -> str:
    """An asset (`btc`, `BTC`) or a pair in any contract spelling (`BTC/USDT`, `btc-usdt`): its base asset."""
    asset = parse_pair(raw).base if any(mark in raw for mark in "/-_") else parse_asset(raw)
    return require_known(asset, TRACKED_ASSETS, raw)


async def symbol_summary(ctx: ServiceContext, state: SentimentState, symbol: str) -> SymbolSentimentReply:
    """One asset's news sentiment over the window (the route's figures; `sentiment.symbol.get`'s reply)."""
    asset = asset_of(symbol)
    settings = ctx.settings
    try:
        summary = await state.aggregates.summary(
            asset, int(settings.sentiment_window_h * HOUR_MS), int(settings.sentiment_half_life_h * HOUR_MS), now_ms()
        )
    except RedisDown as exc:
        raise ServiceUnavailable("The sentiment store (Redis) is unreachable.") from exc
    return SymbolSentimentReply(
        symbol=asset,
        sentiment_score=summary.score,
        sentiment=label(summary.score),
        social_volume=summary.count,
        social_dominance=round(100 * summary.count / summary.total, 2) if summary.total else 0.0,
        window_hours=settings.sentiment_window_h,
    )


@router.get("/api/sentiment/symbol/{symbol:path}", response_model=SymbolSentimentResponse, responses=ERROR_RESPONSES)
async def symbol_sentiment(symbol: str, ctx: Context, state: Sentiment) -> SymbolSentimentResponse:
    summary = await symbol_summary(ctx, state, symbol)
    now, last = now_ms(), state.feed.last_message_ms
    return SymbolSentimentResponse(
        **summary.model_dump(exclude={"error"}),
        news_sentiment=summary.sentiment_score,
        twitter_sentiment=None,
        reddit_sentiment=None,
        meta=Meta(
            source="news-scored",
            sources_tried=["news-scored"],
            age_ms=None if last is None else now - last,
            as_of=now,
        ),
    )
