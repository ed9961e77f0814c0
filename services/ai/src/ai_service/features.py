"""The forecast model's inputs: volatility-normalised returns and indicators at each candle.

Every feature at row t is a function of candles 0..t only (tested by perturbing later candles), and every
price-scale quantity is divided by recent volatility so one model serves BTC and SOL, 1h and 1d alike.
The forecast target is the log return over the next h bars in the same units (see `normalised_return`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .indicators import WARMUP, Array, atr, ema, macd, rolling_extreme, rolling_mean, rolling_std, rsi

FEATURE_NAMES: tuple[str, ...] = (
    "ret_1",
    "ret_4",
    "ret_12",
    "ret_24",
    "ret_72",
    "vol_ratio_24_168",
    "log_vol_24",
    "rsi_14",
    "macd_hist",
    "atr_ratio",
    "dist_sma_20",
    "dist_sma_50",
    "dist_ema_100",
    "range_pos_24",
    "range_pos_168",
    "volume_z_24",
    "timeframe_log_hours",
)
FORECAST_INPUTS: tuple[str, ...] = (*FEATURE_NAMES, "horizon_log")
VOL_FLOOR = 1e-4  # per-bar log-return volatility never taken below 0.01 % (flat, illiquid stretches)
TIMEFRAME_HOURS: dict[str, float] = {"1h": 1.0, "4h": 4.0, "1d": 24.0}


@dataclass(frozen=True)
class Candles:
    """Candle columns, oldest first; `t` is the open time in epoch ms."""

    t: Array
    o: Array
    h: Array
    l: Array  # noqa: E741 - the contract's field name
    c: Array
    v: Array

    def __len__(self) -> int:
        return len(self.c)

    @classmethod
    def from_rows(cls, rows: list[tuple[float, float, float, float, float, float]]) -> Candles:
        table = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(*(table[:, column].copy() for column in range(6)))

    def head(self, stop: int) -> Candles:
        """The first `stop` candles (what was known at the close of candle stop−1)."""
        return Candles(self.t[:stop], self.o[:stop], self.h[:stop], self.l[:stop], self.c[:stop], self.v[:stop])


def bar_volatility(close: Array, window: int = 24) -> Array:
    """Trailing standard deviation of one-bar log returns, floored at VOL_FLOOR."""
    returns = np.diff(np.log(close), prepend=np.log(close[0]))
    return np.maximum(rolling_std(returns, window), VOL_FLOOR)


def feature_matrix(candles: Candles, timeframe_hours: float) -> Array:
    """One row of FEATURE_NAMES per candle; rows before WARMUP are NaN."""
    close, log_close = candles.c, np.log(candles.c)
    vol = bar_volatility(close, 24)
    vol_long = bar_volatility(close, 168)
    columns = [_lagged_return(log_close, lag) / (vol * math.sqrt(lag)) for lag in (1, 4, 12, 24, 72)]
    columns += [vol / vol_long, np.log(vol), rsi(close) / 100.0 - 0.5, macd(close)[2] / (close * vol)]
    columns.append(atr(candles.h, candles.l, close) / (close * vol))
    columns += [
        (close / average - 1.0) / vol for average in (rolling_mean(close, 20), rolling_mean(close, 50), ema(close, 100))
    ]
    columns += [_range_position(candles, window) for window in (24, 168)]
    columns.append(_volume_z(candles.v))
    columns.append(np.full_like(close, math.log(timeframe_hours)))
    matrix = np.column_stack(columns)
    matrix[: min(WARMUP, len(close))] = np.nan
    return np.clip(matrix, -50.0, 50.0)


def _lagged_return(log_close: Array, lag: int) -> Array:
    out = np.full_like(log_close, np.nan)
    out[lag:] = log_close[lag:] - log_close[:-lag]
    return out


def _range_position(candles: Candles, window: int) -> Array:
    high = rolling_extreme(candles.h, window, highest=True)
    low = rolling_extreme(candles.l, window, highest=False)
    span = np.where(high - low > 0, high - low, np.nan)
    return np.nan_to_num((candles.c - low) / span, nan=0.5) - 0.5


def _volume_z(volume: Array) -> Array:
    log_volume = np.log1p(np.maximum(volume, 0.0))
    spread = np.maximum(rolling_std(log_volume, 24), 1e-3)
    return (log_volume - rolling_mean(log_volume, 24)) / spread


def forecast_inputs(features: Array, horizons: Array) -> Array:
    """Feature rows with the horizon column appended (float32, as the ONNX model takes them)."""
    return np.column_stack((features, np.log(horizons))).astype(np.float32)


def normalised_return(log_return: Array, vol: Array, horizon: Array) -> Array:
    """A log return over `horizon` bars in units of the volatility expected over that span."""
    return log_return / (vol * np.sqrt(horizon))
