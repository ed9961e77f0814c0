"""The ai service's documents on NATS: text scoring (`ai.sentiment.score`) and live signals (`ai.signal`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

from . import Reply

MAX_TEXTS = 64
MAX_CHARS = 2000
Label = Literal["positive", "neutral", "negative"]


# -- ai.sentiment.score (request-reply, queue group "ai") -------------------------------------------------


class ScoreRequest(BaseModel):
    """A batch of texts (headlines) to score; the same limits as POST /api/sentiment/analyze."""

    texts: list[str] = Field(min_length=1, max_length=MAX_TEXTS)


class TextScore(BaseModel):
    label: Label
    score: float = Field(ge=-1.0, le=1.0, description="P(positive) − P(negative), in −1…1")
    probabilities: dict[str, float] = Field(description="per class: negative, neutral, positive")


class ScoreReply(Reply):
    scores: list[TextScore] = Field(default_factory=list, description="in the request's order")
    model: str | None = None
    model_version: str | None = None


# -- ai.signal (event, stream SIGNALS) --------------------------------------------------------------------


class SignalIndicators(BaseModel):
    rsi: float
    macd: dict[str, float]
    volume_profile: dict[str, float]
    atr: float


class Signal(BaseModel):
    id: str
    symbol: str
    type: Literal["buy", "sell", "hold"]
    confidence: float = Field(
        ge=0,
        le=1,
        description="rate at which signals this strong were right on non-overlapping windows after the "
        "model's training cut-off (calibration table in /api/models)",
    )
    score: float = Field(ge=0, le=10, description="0 strongly bearish, 5 neutral, 10 strongly bullish")
    timeframe: str
    entry_price: float
    target_price: float
    stop_loss: float
    risk_reward: float = Field(description="|target − entry| / |entry − stop|")
    model: str
    model_version: str
    reasoning: list[str]
    indicators: SignalIndicators
    forecast: dict[str, float]
    timestamp: int = Field(description="close time of the last candle used, epoch ms")
    expires_at: int = Field(description="when the next candle closes, epoch ms")

    @computed_field(description="the type in upper case (BUY, SELL, HOLD), for clients that read `direction`")  # type: ignore[prop-decorator]
    @property
    def direction(self) -> Literal["BUY", "SELL", "HOLD"]:
        return "BUY" if self.type == "buy" else "SELL" if self.type == "sell" else "HOLD"
