"""What the routes and NATS responders call: sentiment, forecasts, signals and analysis, built from the
loaded models and the candles market serves. Model calls run in a worker thread so the event loop stays
free (the numbers are small, but a 64-text batch or a 168-step path is a few milliseconds)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from suite_shared.clients import MarketClient, SentimentClient
from suite_shared.envelope import Meta
from suite_shared.errors import ApiError, InvalidParameter
from suite_shared.messages.sentiment import SymbolSentimentReply
from suite_shared.service import ServiceContext
from suite_shared.symbols import parse_pair

from .candles import fetch_candles
from .features import Candles
from .forecaster import Forecaster, NotEnoughHistory, nearest_evaluation
from .models import Prediction, PricePoint, SentimentResult, Signal
from .registry import ModelRegistry
from .sentiment import SentimentModel
from .signal_feed import build_signal, calibration_from

log = logging.getLogger(__name__)
DEFAULT_SIGNAL_SYMBOLS = ("BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT")
NEUTRAL_BAND = 0.1  # |median| in sigmas below which a prediction is "neutral"
CANDLES_TIMEOUT_S = 5.0
SENTIMENT_TIMEOUT_S = 1.0


class AiEngine:
    def __init__(self, ctx: ServiceContext, registry: ModelRegistry) -> None:
        self.ctx = ctx
        self.registry = registry
        self.market = MarketClient(ctx.bus)
        self.sentiment = SentimentClient(ctx.bus)

    # -- models --------------------------------------------------------------------------------------

    def sentiment_model(self) -> SentimentModel:
        return SentimentModel(self.registry.require("sentiment"))

    def forecaster(self) -> Forecaster:
        return Forecaster(self.registry.require("forecast"))

    # -- sentiment -----------------------------------------------------------------------------------

    async def score_texts(self, texts: list[str]) -> tuple[list[SentimentResult], SentimentModel]:
        model = self.sentiment_model()
        scores = await asyncio.to_thread(model.score, texts)
        return [SentimentResult.of(s) for s in scores], model

    # -- forecast ------------------------------------------------------------------------------------

    async def candles(self, symbol: str, timeframe: str) -> tuple[str, Candles, Meta]:
        pair = str(parse_pair(symbol))
        candles, reply = await fetch_candles(self.market, pair, timeframe, CANDLES_TIMEOUT_S)
        meta = Meta(
            source=f"market:{reply.source}" if reply.source else "market",
            sources_tried=["market"],
            stale=reply.stale,
            as_of=int(candles.t[-1]) if len(candles) else None,
        )
        return reply.symbol or pair, candles, meta

    async def predict(self, symbol: str, timeframe: str, horizon: int) -> tuple[Prediction, Meta]:
        forecaster = self.forecaster()
        forecaster.check_horizon(timeframe, horizon)
        pair, candles, meta = await self.candles(symbol, timeframe)
        try:
            path = await asyncio.to_thread(forecaster.path, candles, timeframe, horizon)
        except NotEnoughHistory as exc:
            raise InvalidParameter(f"Not enough history for {pair} at {timeframe}: {exc}.", {"symbol": pair}) from exc
        prices = path.prices()
        points = [
            PricePoint(
                timestamp=path.last_open_time + (step + 1) * path.bar_ms,
                price=_round(row[1]),
                lower_bound=_round(row[0]),
                upper_bound=_round(row[2]),
                confidence=_held_out(forecaster.metadata, timeframe, step + 1, "coverage_80", 0.8),
            )
            for step, row in enumerate(prices)
        ]
        z_final = float(path.z[-1, 1])
        direction = "neutral" if abs(z_final) < NEUTRAL_BAND else "bullish" if z_final > 0 else "bearish"
        prediction = Prediction(
            symbol=pair,
            timeframe=timeframe,
            horizon=horizon,
            current_price=path.last_close,
            as_of=path.last_open_time,
            predictions=points,
            model=forecaster.name,
            model_version=forecaster.version,
            direction=direction,
            confidence=_held_out(forecaster.metadata, timeframe, horizon, "directional_accuracy", 0.5),
        )
        return prediction, meta

    # -- signals -------------------------------------------------------------------------------------

    async def signal(self, symbol: str, timeframe: str) -> Signal:
        forecaster = self.forecaster()
        calibration = calibration_from(self.registry.require("signals").metadata)
        pair, candles, _ = await self.candles(symbol, timeframe)
        sentiment = await self.symbol_sentiment(pair)
        score = sentiment.sentiment_score if sentiment else None
        try:
            return await asyncio.to_thread(
                build_signal,
                pair,
                timeframe,
                candles,
                forecaster,
                calibration,
                score,
            )
        except NotEnoughHistory as exc:
            raise InvalidParameter(f"Not enough history for {pair} at {timeframe}: {exc}.", {"symbol": pair}) from exc

    async def symbol_sentiment(self, pair: str) -> SymbolSentimentReply | None:
        """The sentiment service's view of the asset, or None when it cannot be had quickly."""
        asset = pair.split("/")[0]
        try:
            return await self.sentiment.symbol(asset, timeout_s=SENTIMENT_TIMEOUT_S)
        except ApiError as exc:  # unreachable, busy, slow: sentiment is optional here
            log.debug("sentiment unavailable for %s: %s", asset, exc.message)
            return None


def _held_out(metadata: dict[str, Any], timeframe: str, horizon: int, figure: str, default: float) -> float:
    evaluation = nearest_evaluation(metadata, timeframe, horizon)
    return round(float(evaluation[figure]), 4) if evaluation else default


def _round(value: float) -> float:
    return float(f"{float(value):.8g}")
