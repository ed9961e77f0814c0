"""GET /api/ai/analysis/{symbol}: technical reading, market fundamentals, sentiment and the forecast.

Fundamentals come from the market service (`market.stats.get`), sentiment from the sentiment service
(`sentiment.symbol.get`); each is null with a note when its service cannot be reached, so one slow
neighbour never fails the whole analysis. Candles (and so the technical part and prediction) are required:
without them, 503.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from suite_shared.envelope import Meta
from suite_shared.errors import ApiError

from .engine import AiEngine
from .models import Prediction
from .technical import key_indicators, support_resistance, trend

log = logging.getLogger(__name__)
TECHNICAL_TIMEFRAME = "1d"
TERMS = {"short_term": ("1h", 24), "medium_term": ("4h", 42), "long_term": ("1d", 14)}
NEIGHBOUR_TIMEOUT_S = 2.0


async def analyse(engine: AiEngine, symbol: str) -> tuple[str, dict[str, Any], list[str]]:
    """The analysis document, the pair, and notes on parts that could not be filled."""
    pair, daily, _ = await engine.candles(symbol, TECHNICAL_TIMEFRAME)
    notes: list[str] = []
    predictions = await asyncio.gather(
        *(engine.predict(pair, tf, h) for tf, h in TERMS.values()), return_exceptions=True
    )
    fundamental, sentiment = await asyncio.gather(_fundamental(engine, pair, notes), engine.symbol_sentiment(pair))
    if sentiment is None:
        notes.append("sentiment: the sentiment service was not reachable")
    analysis = {
        "technical": _technical(daily),
        "fundamental": fundamental,
        "sentiment": None
        if sentiment is None
        else {
            "overall": sentiment.sentiment,
            "score": sentiment.sentiment_score,
            "social_volume": sentiment.social_volume,
            "news_sentiment": sentiment.sentiment_score,
        },
        "prediction": _prediction(predictions, notes),
        "notes": notes,
    }
    return pair, analysis, notes


def _technical(candles: Any) -> dict[str, Any]:
    direction, strength = trend(candles)
    supports, resistances = support_resistance(candles)
    return {
        "timeframe": TECHNICAL_TIMEFRAME,
        "trend": direction,
        "strength": strength,
        "support_levels": [_level(level) for level in supports],
        "resistance_levels": [_level(level) for level in resistances],
        "key_indicators": key_indicators(candles),
        "method": "pivots: extremes of ±5 daily candles, merged within 0.5 ATR",
    }


def _level(level: Any) -> dict[str, float | int]:
    return {"price": float(f"{level.price:.8g}"), "touches": level.touches}


def _prediction(results: list[tuple[Prediction, Meta] | BaseException], notes: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    confidences = []
    for (term, (timeframe, horizon)), result in zip(TERMS.items(), results, strict=True):
        if isinstance(result, BaseException):
            notes.append(f"prediction.{term}: {getattr(result, 'message', type(result).__name__)}")
            document[term] = None
            continue
        prediction = result[0]
        last = prediction.predictions[-1]
        document[term] = {
            "timeframe": timeframe,
            "horizon": horizon,
            "direction": prediction.direction,
            "price": last.price,
            "lower_bound": last.lower_bound,
            "upper_bound": last.upper_bound,
            "change_pct": round(100 * (last.price / prediction.current_price - 1), 3),
            "model": prediction.model,
            "model_version": prediction.model_version,
        }
        confidences.append(prediction.confidence)
    document["confidence"] = round(sum(confidences) / len(confidences), 4) if confidences else None
    return document


async def _fundamental(engine: AiEngine, pair: str, notes: list[str]) -> dict[str, Any] | None:
    base = pair.split("/")[0]
    try:
        stats = await engine.market.stats([base], timeout_s=NEIGHBOUR_TIMEOUT_S)
    except ApiError as exc:  # market down or slow: the rest of the analysis still stands
        notes.append(f"fundamental: market service not reachable ({exc.code})")
        return None
    coin = stats.assets.get(base)
    total_cap = stats.total_market_cap
    cap = coin.market_cap if coin else None
    return {
        "market_cap_rank": coin.rank if coin else None,
        "market_cap": cap,
        "volume_24h": coin.volume_24h if coin else None,
        "dominance": round(100 * cap / total_cap, 4) if cap and total_cap else None,
        "on_chain_metrics": None,
        "on_chain_note": "no on-chain source is wired to ai yet",
    }
