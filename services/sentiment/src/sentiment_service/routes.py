"""GET /api/sentiment/global and /api/sentiment/symbol/{symbol}."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from suite_shared.assets import TRACKED_ASSETS
from suite_shared.cache import Fetched
from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES, Envelope, Meta
from suite_shared.errors import ServiceUnavailable
from suite_shared.redis_link import RedisDown
from suite_shared.symbols import parse_asset, parse_pair, require_known

from .aggregates import NewsAggregates
from .components import compute

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
    sentiment: Label
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


def index_sentiment(value: int) -> Label:
    return "negative" if value < 45 else "positive" if value > 55 else "neutral"


@router.get("/api/sentiment/global", response_model=GlobalSentimentResponse, responses=ERROR_RESPONSES)
async def global_sentiment(request: Request, ctx: Context) -> GlobalSentimentResponse:
    state = request.app.state

    async def fetch() -> Fetched:
        result = await state.fear_greed.run(None)
        reading = result.value
        now = int(time.time() * 1000)
        components = await compute(ctx.bus, ctx.internal_http, ctx.settings.market_url, state.aggregates, now)
        description = (
            f"Fear & Greed {reading.value} ({reading.classification}) per Alternative.me. "
            + "; ".join(components.notes)
            + "."
        )
        value = {
            "fearGreedIndex": reading.value,
            "sentiment": index_sentiment(reading.value),
            "value_classification": reading.classification,
            "components": components.scores(),
            "description": description,
            "last_updated": datetime.fromtimestamp(reading.as_of / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return Fetched(value, result.source, result.sources_tried, reading.as_of)

    cached = await ctx.cache.get_or_fetch("sentiment", "global", fetch)
    return GlobalSentimentResponse(**cached.value, meta=cached.meta())


def asset_of(raw: str) -> str:
    """An asset (`btc`, `BTC`) or a pair in any contract spelling (`BTC/USDT`, `btc-usdt`): its base asset."""
    asset = parse_pair(raw).base if any(mark in raw for mark in "/-_") else parse_asset(raw)
    return require_known(asset, TRACKED_ASSETS, raw)


@router.get("/api/sentiment/symbol/{symbol:path}", response_model=SymbolSentimentResponse, responses=ERROR_RESPONSES)
async def symbol_sentiment(symbol: str, request: Request, ctx: Context) -> SymbolSentimentResponse:
    asset = asset_of(symbol)
    aggregates: NewsAggregates = request.app.state.aggregates
    settings = ctx.settings
    now = int(time.time() * 1000)
    try:
        summary = await aggregates.summary(
            asset, int(settings.sentiment_window_h * HOUR_MS), int(settings.sentiment_half_life_h * HOUR_MS), now
        )
    except RedisDown as exc:
        raise ServiceUnavailable("The sentiment store (Redis) is unreachable.") from exc
    consumer = request.app.state.consumer
    dominance = round(100 * summary.count / summary.total, 2) if summary.total else 0.0
    return SymbolSentimentResponse(
        symbol=asset,
        sentiment_score=summary.score,
        sentiment=label(summary.score),
        social_volume=summary.count,
        social_dominance=dominance,
        news_sentiment=summary.score,
        twitter_sentiment=None,
        reddit_sentiment=None,
        window_hours=settings.sentiment_window_h,
        meta=Meta(
            source="news-scored",
            sources_tried=["news-scored"],
            age_ms=None if consumer.last_message_ms is None else now - consumer.last_message_ms,
            as_of=now,
        ),
    )
