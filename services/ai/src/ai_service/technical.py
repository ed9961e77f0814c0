"""Technical reading of candles: trend, key indicators, and support/resistance from real pivots.

A pivot high is a candle whose high is the highest of the `span` candles on each side (so the last `span`
candles cannot be pivots yet); nearby pivots (within half an ATR) are merged into one level, weighted by
how often price turned there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .features import Candles
from .indicators import Array, atr, ema, macd, rolling_mean, rsi

PIVOT_SPAN = 5


@dataclass(frozen=True)
class Level:
    price: float
    touches: int


def pivots(values: Array, span: int, highest: bool) -> Array:
    """Indices of strict local extremes over ±span candles."""
    found = []
    for index in range(span, len(values) - span):
        window = values[index - span : index + span + 1]
        extreme = window.max() if highest else window.min()
        if values[index] == extreme and np.sum(window == extreme) == 1:
            found.append(index)
    return np.asarray(found, dtype=np.int64)


def cluster(prices: Array, tolerance: float) -> list[Level]:
    levels: list[list[float]] = []
    for price in np.sort(prices):
        if levels and price - levels[-1][-1] <= tolerance:
            levels[-1].append(float(price))
        else:
            levels.append([float(price)])
    return [Level(price=float(np.mean(group)), touches=len(group)) for group in levels]


def support_resistance(candles: Candles, count: int = 3) -> tuple[list[Level], list[Level]]:
    """Nearest `count` supports below and resistances above the last close."""
    close = float(candles.c[-1])
    tolerance = 0.5 * float(atr(candles.h, candles.l, candles.c)[-1])
    lows = cluster(candles.l[pivots(candles.l, PIVOT_SPAN, highest=False)], tolerance)
    highs = cluster(candles.h[pivots(candles.h, PIVOT_SPAN, highest=True)], tolerance)
    levels = lows + highs
    supports = sorted((lv for lv in levels if lv.price < close), key=lambda lv: close - lv.price)[:count]
    resistances = sorted((lv for lv in levels if lv.price > close), key=lambda lv: lv.price - close)[:count]
    return supports, resistances


def key_indicators(candles: Candles) -> dict[str, Any]:
    close = candles.c
    line, signal, histogram = macd(close)
    averages = {f"sma_{n}": _last(rolling_mean(close, n)) for n in (20, 50, 200)}
    averages.update({"ema_12": _last(ema(close, 12)), "ema_26": _last(ema(close, 26))})
    volume_average = _last(rolling_mean(candles.v, 20))
    return {
        "rsi_14": round(float(rsi(close)[-1]), 2),
        "macd": {"macd": _round(line[-1]), "signal": _round(signal[-1]), "histogram": _round(histogram[-1])},
        "moving_averages": averages,
        "volume": {
            "last": _round(candles.v[-1]),
            "average_20": volume_average,
            "ratio_to_average": round(float(candles.v[-1]) / volume_average, 3) if volume_average else None,
        },
        "atr_14": _round(atr(candles.h, candles.l, close)[-1]),
    }


def trend(candles: Candles) -> tuple[str, float]:
    """'bullish' / 'bearish' / 'sideways' from price against its 20/50-bar means and their order, with a
    strength in 0..1 (the share of those checks that agree)."""
    close = float(candles.c[-1])
    sma20, sma50 = _last(rolling_mean(candles.c, 20)), _last(rolling_mean(candles.c, 50))
    if sma20 is None or sma50 is None:
        return "sideways", 0.0
    votes = [close > sma20, close > sma50, sma20 > sma50, float(macd(candles.c)[2][-1]) > 0]
    up = sum(votes) / len(votes)
    if up >= 0.75:
        return "bullish", round(up, 2)
    if up <= 0.25:
        return "bearish", round(1 - up, 2)
    return "sideways", round(1 - abs(up - 0.5) * 2, 2)


def _last(values: Array) -> float | None:
    value = float(values[-1])
    return None if np.isnan(value) else _round(value)


def _round(value: float) -> float:
    return float(f"{float(value):.6g}")
