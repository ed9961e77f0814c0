"""Building the contract's signals: forecast → rule (signals.decide) → prices, confidence and reasons."""

from __future__ import annotations

from typing import Any

import numpy as np

from suite_shared.messages.ai import Signal, SignalIndicators

from .features import Candles
from .forecaster import Forecaster
from .indicators import atr, macd, rolling_mean, rsi
from .signals import SIGNAL_HORIZON, STOP_ATR, Calibration, Decision, Forecast, decide


def calibration_from(metadata: dict[str, Any]) -> Calibration:
    table = metadata["calibration"]
    return Calibration(
        edges=tuple(table["edges"]),
        trade_win_rate=tuple(table["trade_win_rate"]),
        hold_right_rate=tuple(table["hold_right_rate"]),
        counts=tuple(table["counts"]),
        z_threshold=float(table["z_threshold"]),
        period=str(table.get("period", "")),
    )


def build_signal(
    symbol: str,
    timeframe: str,
    candles: Candles,
    forecaster: Forecaster,
    calibration: Calibration,
    sentiment: float | None,
) -> Signal:
    horizon = SIGNAL_HORIZON[timeframe]
    path = forecaster.path(candles, timeframe, horizon)
    forecast = path.step(horizon)
    entry, last_atr = float(candles.c[-1]), float(atr(candles.h, candles.l, candles.c)[-1])
    decision = decide(forecast, entry, last_atr, calibration)
    indicators = _indicators(candles, last_atr)
    closes_at = int(candles.t[-1]) + path.bar_ms
    return Signal(
        id=f"{symbol.replace('/', '')}-{timeframe}-{int(candles.t[-1])}",
        symbol=symbol,
        type=decision.type,
        confidence=decision.confidence,
        score=decision.score,
        timeframe=timeframe,
        entry_price=_price(entry),
        target_price=_price(decision.target),
        stop_loss=_price(decision.stop),
        risk_reward=decision.risk_reward,
        model=forecaster.name,
        model_version=forecaster.version,
        reasoning=reasons(decision, forecast, indicators, calibration, sentiment, timeframe),
        indicators=indicators,
        forecast=_forecast_summary(forecast),
        timestamp=closes_at,
        expires_at=closes_at + path.bar_ms,
    )


def _indicators(candles: Candles, last_atr: float) -> SignalIndicators:
    line, signal, histogram = macd(candles.c)
    average = float(rolling_mean(candles.v, 20)[-1])
    return SignalIndicators(
        rsi=round(float(rsi(candles.c)[-1]), 2),
        macd={"macd": _price(line[-1]), "signal": _price(signal[-1]), "histogram": _price(histogram[-1])},
        volume_profile={
            "last": _price(candles.v[-1]),
            "average_20": _price(average),
            "ratio_to_average": round(float(candles.v[-1]) / average, 3) if average > 0 else 0.0,
        },
        atr=_price(last_atr),
    )


def _forecast_summary(forecast: Forecast) -> dict[str, float]:
    return {
        "horizon_bars": float(forecast.horizon),
        "median_change_pct": _pct(forecast.move(forecast.z50)),
        "lower_change_pct": _pct(forecast.move(forecast.z10)),
        "upper_change_pct": _pct(forecast.move(forecast.z90)),
        "z_median": round(forecast.z50, 4),
    }


def reasons(
    decision: Decision,
    forecast: Forecast,
    indicators: SignalIndicators,
    calibration: Calibration,
    sentiment: float | None,
    timeframe: str,
) -> list[str]:
    """The drivers of this signal, in words, with the numbers that decided it."""
    span = f"{forecast.horizon} x {timeframe}"
    lines = [
        f"Forecast over {span}: median {_pct(forecast.move(forecast.z50)):+.2f}% "
        f"(80% interval {_pct(forecast.move(forecast.z10)):+.2f}% to {_pct(forecast.move(forecast.z90)):+.2f}%), "
        f"{decision.z:+.2f} sigma of recent volatility.",
        _rule(decision, calibration),
        f"RSI(14) {indicators.rsi:.1f}"
        + (" (overbought)" if indicators.rsi > 70 else " (oversold)" if indicators.rsi < 30 else "")
        + "; MACD histogram "
        + ("positive" if indicators.macd["histogram"] > 0 else "negative")
        + " (both are model inputs).",
        _levels(decision, indicators),
        f"Confidence {decision.confidence:.0%}: rate on non-overlapping windows after the model's training "
        f"cut-off ({calibration.period}) at which "
        + (
            "trades this strong were profitable after fees."
            if decision.type != "hold"
            else "a trade this strong would have lost after fees."
        ),
    ]
    if sentiment is None:
        lines.append("News sentiment unavailable: not used.")
    else:
        lines.append(
            f"News sentiment {sentiment:+.2f}, for information: not part of the rule (its weight cannot be fitted "
            "without sentiment history aligned with candles)."
        )
    return lines


def _levels(decision: Decision, indicators: SignalIndicators) -> str:
    stop = f"Stop {STOP_ATR} ATR from entry (ATR(14) = {indicators.atr:g})"
    if decision.type == "hold":
        return (
            f"{stop}, target 1 ATR on the forecast's side, for reference only; risk/reward {decision.risk_reward:.2f}."
        )
    return (
        f"{stop}; target halfway between the median and the outer quantile, kept within 1-4 ATR; "
        f"risk/reward {decision.risk_reward:.2f}."
    )


def _rule(decision: Decision, calibration: Calibration) -> str:
    if decision.type == "hold" and calibration.z_threshold >= calibration.edges[-1]:
        return (
            "Hold: on the calibration windows no signal strength paid the 0.2% round-trip fees on average, "
            "so the rule does not trade."
        )
    if decision.type == "hold":
        return (
            f"Hold: |{decision.z:.2f}| sigma is below the {calibration.z_threshold} sigma threshold "
            "or the move does not cover 0.2% round-trip fees."
        )
    return f"{decision.type.capitalize()}: the forecast clears the {calibration.z_threshold} sigma threshold."


def _pct(change: float) -> float:
    return round(100.0 * change, 3)


def _price(value: float) -> float:
    return float(f"{float(np.asarray(value)):.8g}")
