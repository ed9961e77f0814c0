"""Technical indicators on candle arrays (oldest first), computed causally: the value at index t uses
candles 0..t only, so the same code serves training (no look-ahead) and live inference.

Recursive indicators (EMA, Wilder RSI/ATR) start from the first value, so their first few dozen values
are warm-up; callers drop rows before `WARMUP` bars.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
WARMUP = 200  # bars of history before a feature row is trusted (the longest window is 168 bars)


def ema(values: Array, span: int) -> Array:
    """Exponential moving average with alpha = 2 / (span + 1), seeded with the first value."""
    return _recursive_mean(values, 2.0 / (span + 1.0))


def wilder(values: Array, period: int) -> Array:
    """Wilder's smoothing (alpha = 1 / period), used by RSI and ATR."""
    return _recursive_mean(values, 1.0 / period)


def _recursive_mean(values: Array, alpha: float) -> Array:
    out = np.empty_like(values)
    level = values[0]
    for index, value in enumerate(values):
        level = alpha * value + (1.0 - alpha) * level
        out[index] = level
    return out


def rsi(close: Array, period: int = 14) -> Array:
    """Relative Strength Index in 0..100 (Wilder)."""
    change = np.diff(close, prepend=close[0])
    gain = wilder(np.clip(change, 0.0, None), period)
    loss = wilder(np.clip(-change, 0.0, None), period)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(loss > 0, gain / loss, np.inf)
    return np.where(np.isinf(strength), 100.0, 100.0 - 100.0 / (1.0 + strength))


def macd(close: Array, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Array, Array, Array]:
    """MACD line, its signal line and the histogram (line − signal), in price units."""
    line = ema(close, fast) - ema(close, slow)
    signal_line = ema(line, signal)
    return line, signal_line, line - signal_line


def true_range(high: Array, low: Array, close: Array) -> Array:
    previous = np.concatenate(([close[0]], close[:-1]))
    return np.maximum(high - low, np.maximum(np.abs(high - previous), np.abs(low - previous)))


def atr(high: Array, low: Array, close: Array, period: int = 14) -> Array:
    """Average True Range (Wilder), in price units."""
    return wilder(true_range(high, low, close), period)


def rolling_mean(values: Array, window: int) -> Array:
    """Trailing mean over `window` values (NaN until the window is full)."""
    out = np.full_like(values, np.nan)
    if len(values) >= window:
        sums = np.cumsum(np.concatenate(([0.0], values)))
        out[window - 1 :] = (sums[window:] - sums[:-window]) / window
    return out


def rolling_std(values: Array, window: int) -> Array:
    """Trailing population standard deviation over `window` values."""
    mean = rolling_mean(values, window)
    mean_sq = rolling_mean(values * values, window)
    return np.sqrt(np.clip(mean_sq - mean * mean, 0.0, None))


def rolling_extreme(values: Array, window: int, highest: bool) -> Array:
    """Trailing max (or min) over `window` values."""
    out = np.full_like(values, np.nan)
    if len(values) >= window:
        view = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1 :] = view.max(axis=1) if highest else view.min(axis=1)
    return out
