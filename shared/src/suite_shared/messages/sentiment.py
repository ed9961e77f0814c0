"""The sentiment service's request/reply on NATS: one asset's news sentiment (`sentiment.symbol.get`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from . import Reply


class SymbolSentimentRequest(BaseModel):
    symbol: str = Field(min_length=1, max_length=32, description="an asset (BTC) or a pair (BTC/USDT)")


class SymbolSentimentReply(Reply):
    """What GET /api/sentiment/symbol/{symbol} reports, without the envelope."""

    symbol: str = ""
    sentiment_score: float | None = Field(None, description="recency-weighted mean news score, -1…1")
    sentiment: str | None = None
    social_volume: int = 0
    social_dominance: float = 0.0
    window_hours: float = 0.0
