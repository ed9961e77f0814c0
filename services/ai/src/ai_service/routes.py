"""HTTP routes of the ai service: thin (parse, call the engine, wrap in the contract's envelope)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from suite_shared.cache import Fetched
from suite_shared.deps import Context, state_of
from suite_shared.envelope import ERROR_RESPONSES, Meta
from suite_shared.response_cache import reusable_answer
from suite_shared.symbols import parse_pair

from . import analysis
from .engine import DEFAULT_SIGNAL_SYMBOLS, AiEngine
from .models import (
    AnalysisResponse,
    ModelInfo,
    ModelsResponse,
    ModelStatus,
    PredictRequest,
    PredictResponse,
    SentimentRequest,
    SentimentResponse,
    Signal,
    SignalsResponse,
    Timeframe,
)

router = APIRouter(tags=["ai"])
RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    422: {"description": "Invalid body (VALIDATION_ERROR)"},
}


Engine = Annotated[AiEngine, Depends(state_of(AiEngine))]


@router.post(
    "/api/sentiment/analyze", response_model=SentimentResponse, response_model_exclude_none=True, responses=RESPONSES
)
async def analyze_sentiment(engine: Engine, body: SentimentRequest) -> SentimentResponse:
    """Sentiment of one text (`text`) or up to 64 (`texts`): label, score in −1…1, class probabilities."""
    results, model = await engine.score_texts(body.all_texts())
    meta = Meta(source=f"{model.name}@{model.version}")
    if body.text is not None:
        first = results[0]
        return SentimentResponse(
            model=model.name,
            model_version=model.version,
            label=first.label,
            sentiment=first.sentiment,
            score=first.score,
            confidence=first.confidence,
            probabilities=first.probabilities,
            meta=meta,
        )
    return SentimentResponse(model=model.name, model_version=model.version, results=results, meta=meta)


@router.post("/api/ai/predict", response_model=PredictResponse, responses=RESPONSES)
async def predict(engine: Engine, body: PredictRequest) -> PredictResponse:
    """Median and 80 % interval of the price for each of the next `horizon` candles."""
    prediction, meta = await engine.predict(body.symbol, body.timeframe, body.horizon)
    return PredictResponse(**prediction.model_dump(), meta=meta)


@router.get("/api/ai/signals", response_model=SignalsResponse, responses=RESPONSES)
async def signals(
    engine: Engine,
    ctx: Context,
    symbol: Annotated[str | None, Query(min_length=1, description="one pair; all default pairs when absent")] = None,
    timeframe: Annotated[Timeframe, Query()] = "1h",
    min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.0,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SignalsResponse:
    """Current buy/sell/hold signal per pair, strongest confidence first (cached for the signals TTL)."""
    engine.forecaster()  # 503 before any work when the model is missing
    pairs = [str(parse_pair(symbol))] if symbol else list(DEFAULT_SIGNAL_SYMBOLS)

    async def fetch() -> Fetched:
        return Fetched(
            value=[s.model_dump() for s in await _signals_for(engine, pairs, timeframe, bool(symbol))], source="ai"
        )

    result = await ctx.cache.get_or_fetch("signals", f"{','.join(pairs)}:{timeframe}", fetch)
    found = [Signal.model_validate(row) for row in result.value if row["confidence"] >= min_confidence]
    found.sort(key=lambda s: s.confidence, reverse=True)
    reusable_answer(result)
    return SignalsResponse(signals=found[:limit], meta=result.meta())


async def _signals_for(engine: AiEngine, pairs: list[str], timeframe: str, strict: bool) -> list[Signal]:
    """One pair: its errors reach the client. Several: pairs that fail are left out (unless all do)."""
    if strict:
        return [await engine.signal(pairs[0], timeframe)]
    results = await asyncio.gather(*(engine.signal(pair, timeframe) for pair in pairs), return_exceptions=True)
    found = [result for result in results if isinstance(result, Signal)]
    if not found:
        error = next(result for result in results if isinstance(result, BaseException))
        raise error
    return found


@router.get("/api/ai/analysis/{symbol:path}", response_model=AnalysisResponse, responses=RESPONSES)
async def get_analysis(engine: Engine, symbol: Annotated[str, Path(min_length=1)]) -> AnalysisResponse:
    """Technical, fundamental, sentiment and forecast views of one pair."""
    engine.forecaster()
    pair, document, _notes = await analysis.analyse(engine, symbol)
    return AnalysisResponse(symbol=pair, analysis=document, meta=Meta(source="ai", sources_tried=["market"]))


@router.get("/api/models", response_model=ModelsResponse, responses=RESPONSES)
async def list_models(engine: Engine) -> ModelsResponse:
    """Every model this replica has: status, version, data trained on, held-out figures and the model card."""
    registry = engine.registry
    infos = [
        _info(name, model.metadata, "fallback", f"TF-IDF serves (transformer: {registry.fallbacks[name]})")
        if name in registry.fallbacks
        else _info(name, model.metadata, "loaded")
        for name, model in registry.models.items()
    ]
    infos += [_info(name, model.metadata, "standby") for name, model in registry.standby.items()]
    infos += [
        ModelInfo(name=name, version=None, kind=None, status="unavailable", reason=reason)
        for name, reason in registry.failures.items()
    ]
    return ModelsResponse(models=infos, meta=Meta(source="ai"))


def _info(name: str, metadata: dict[str, Any], status: ModelStatus, reason: str | None = None) -> ModelInfo:
    trained = metadata.get("trained_on")
    evaluation = metadata.get("evaluation")
    if name == "forecast" and evaluation:
        evaluation = {key: evaluation[key] for key in ("method", "held_out_range", "summary") if key in evaluation}
    if name == "signals":
        evaluation = {key: metadata.get(key) for key in ("calibration", "calibration_check", "backtest")}
    trained_range = (
        trained.get("range") if isinstance(trained, dict) and isinstance(trained.get("range"), list) else None
    )
    return ModelInfo(
        name=name,
        version=metadata.get("version"),
        kind=metadata.get("kind"),
        status=status,
        trained_range=trained_range,
        trained_on=trained,
        evaluation=evaluation,
        card=metadata.get("card"),
        reason=reason,
    )
