"""Request and response bodies of the ai service's REST API, as pydantic models (its NATS messages are in the
shared library: `suite_shared.messages.ai`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from suite_shared.envelope import Envelope
from suite_shared.messages.ai import MAX_CHARS, MAX_TEXTS, Label, Signal, TextScore

from .sentiment import SentimentScore

Timeframe = Literal["1h", "4h", "1d"]
MAX_HORIZON = 168


def check_texts(texts: list[str]) -> list[str]:
    """The limits every sentiment request obeys (REST and NATS)."""
    if not texts:
        raise ValueError("give `text` or a non-empty `texts` list")
    if len(texts) > MAX_TEXTS:
        raise ValueError(f"at most {MAX_TEXTS} texts per request, got {len(texts)}")
    for index, text in enumerate(texts):
        if not text.strip():
            raise ValueError(f"text {index} is empty")
        if len(text) > MAX_CHARS:
            raise ValueError(f"text {index} has {len(text)} characters; the limit is {MAX_CHARS}")
    return texts


# -- sentiment -----------------------------------------------------------------------------------------


def _exactly_one_text_field(schema: dict[str, Any]) -> None:
    """The JSON schema says what the validator enforces: exactly one of the two fields, never null."""
    for field in ("text", "texts"):
        variants = schema["properties"][field].pop("anyOf")
        schema["properties"][field].update(next(v for v in variants if v.get("type") != "null"))
    schema["oneOf"] = [{"required": ["text"]}, {"required": ["texts"]}]


NonBlank = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CHARS, pattern=r"\S")]


class SentimentRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra=_exactly_one_text_field)  # other fields are ignored

    # The bounds are declared on the fields, not only checked after: pydantic then stops at the first item
    # over them, so a body of 400,000 wrong items costs microseconds, not seconds of error objects.
    text: NonBlank | None = Field(None, description=f"one headline or sentence (≤ {MAX_CHARS} characters)")
    texts: list[NonBlank] | None = Field(
        None, min_length=1, max_length=MAX_TEXTS, description=f"up to {MAX_TEXTS} texts scored together"
    )

    @model_validator(mode="after")
    def one_of(self) -> SentimentRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of `text` or `texts`")
        check_texts([self.text] if self.text is not None else self.texts or [])
        return self

    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class SentimentResult(TextScore):
    """One text's reading: the `ai.sentiment.score` reply's per-text model, and what REST adds for clients."""

    sentiment: Label = Field(description="the same word as `label`")
    confidence: float = Field(ge=0, le=1, description="the winning class's probability")

    @classmethod
    def of(cls, scored: SentimentScore) -> SentimentResult:
        return cls(
            label=scored.label,
            sentiment=scored.label,
            score=scored.score,
            confidence=scored.confidence,
            probabilities=scored.probabilities,
        )


class SentimentResponse(Envelope):
    """Single text: the result's fields at the top level. Several: `results`, in the request's order."""

    model: str
    model_version: str
    label: str | None = None
    sentiment: str | None = Field(default=None, description="the same word as `label`")
    score: float | None = None
    confidence: float | None = Field(default=None, description="the winning class's probability, 0–1")
    probabilities: dict[str, float] | None = None
    results: list[SentimentResult] | None = None


# -- forecast ------------------------------------------------------------------------------------------


class PredictRequest(BaseModel):
    symbol: str = Field(min_length=1, description="BTC, BTC/USDT, BTCUSDT, …")
    timeframe: Timeframe = "1h"
    horizon: int = Field(
        24,
        description=f"candles ahead, 1…{MAX_HORIZON} (the range the model was trained on); outside it the answer "
        "is 400 INVALID_PARAMETER",
    )
    model: Literal["default", "forecast", "quantile-gbm"] = "default"


class PricePoint(BaseModel):
    timestamp: int = Field(description="close time of the predicted candle, epoch ms")
    price: float = Field(description="median forecast")
    lower_bound: float = Field(description="10 % quantile: the 80 % interval's lower end")
    upper_bound: float = Field(description="90 % quantile: the 80 % interval's upper end")
    confidence: float = Field(description="held-out coverage of this 80 % interval at a similar horizon")


class Prediction(BaseModel):
    symbol: str
    timeframe: str
    horizon: int
    current_price: float
    as_of: int = Field(description="open time of the last closed candle used, epoch ms")
    predictions: list[PricePoint]
    model: str
    model_version: str
    interval: str = "80% (10%-90% quantiles)"
    confidence: float = Field(description="held-out directional accuracy of the median at a similar horizon")
    direction: Literal["bullish", "bearish", "neutral"]


class PredictResponse(Envelope, Prediction):
    pass


# -- signals and analysis ------------------------------------------------------------------------------


class SignalsResponse(Envelope):
    signals: list[Signal]


class AnalysisResponse(Envelope):
    symbol: str
    analysis: dict[str, Any]


ModelStatus = Literal["loaded", "fallback", "standby", "unavailable"]


class ModelInfo(BaseModel):
    name: str
    version: str | None
    kind: str | None
    status: ModelStatus = Field(
        description="loaded: serving; fallback: serving in place of a model that failed to load; standby: "
        "loaded, serves if the primary fails; unavailable: failed to load"
    )
    trained_range: list[str] | None = None
    trained_on: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    card: dict[str, Any] | None = Field(
        default=None,
        description="the model card: algorithm, data and licences, figures (with the data each is on), limits",
    )
    reason: str | None = None


class ModelsResponse(Envelope):
    models: list[ModelInfo]
