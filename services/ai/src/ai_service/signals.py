"""Turning a forecast into a trade signal: direction, entry/target/stop, confidence and score.

The same `decide` runs in the service and in the held-out backtest, so the reported hit rates describe
exactly this rule. Confidence is not the model's raw output: it is the frequency with which a signal of
that strength turned out right on non-overlapping windows after the forecast model's training cut-off
(the calibration table shipped in signals.json: equal-count bins, made monotone in strength).

News sentiment is not part of the rule: its weight cannot be fitted until sentiment history aligned with
the candles exists, so it is left out rather than set by hand (signals show it for information only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

SignalType = Literal["buy", "sell", "hold"]
SIGNAL_HORIZON: dict[str, int] = {"1h": 24, "4h": 12, "1d": 5}  # bars the signal looks ahead
STOP_ATR = 1.5  # stop distance in ATRs
TARGET_ATR_RANGE = (1.0, 4.0)  # target distance is clipped to this many ATRs
FEE_PER_SIDE = 0.001  # Binance spot taker fee, charged on entry and exit


@dataclass(frozen=True)
class Forecast:
    """Normalised quantiles (z10, z50, z90) of the log return over `horizon` bars, and its scale."""

    z10: float
    z50: float
    z90: float
    scale: float  # vol * sqrt(horizon): z times scale is a log return
    horizon: int

    def move(self, z: float) -> float:
        """Simple return for a normalised quantile."""
        return math.exp(z * self.scale) - 1.0


@dataclass(frozen=True)
class Calibration:
    """Held-out outcome rates by signal strength |z|: bins are [edges[i], edges[i+1])."""

    edges: tuple[float, ...]
    trade_win_rate: tuple[float, ...]  # a buy/sell of that strength was profitable after fees
    hold_right_rate: tuple[float, ...]  # a trade of that strength would have lost after fees
    counts: tuple[int, ...]
    z_threshold: float
    period: str = ""  # the windows the rates were measured on

    def lookup(self, strength: float) -> int:
        for index in range(len(self.edges) - 1):
            if strength < self.edges[index + 1]:
                return index
        return len(self.edges) - 2


@dataclass(frozen=True)
class Decision:
    type: SignalType
    strength: float  # |z| of the median
    z: float
    entry: float
    target: float
    stop: float
    risk_reward: float
    confidence: float
    score: float
    calibration_bin: int
    notes: list[str] = field(default_factory=list)


def direction(z: float, forecast: Forecast, threshold: float) -> SignalType:
    """Buy/sell only when the median move is beyond the threshold and pays the round-trip fees."""
    if abs(z) < threshold or abs(forecast.move(z)) <= 2 * FEE_PER_SIDE:
        return "hold"
    return "buy" if z > 0 else "sell"


def levels(kind: SignalType, z: float, forecast: Forecast, entry: float, atr: float) -> tuple[float, float]:
    """Target and stop prices: stop at STOP_ATR ATRs, target halfway between the median and the outer
    quantile in the trade's direction, kept within TARGET_ATR_RANGE ATRs."""
    side = 1.0 if kind == "buy" or (kind == "hold" and z >= 0) else -1.0
    outer = forecast.z90 if side > 0 else forecast.z10
    wanted = abs(entry * (forecast.move(0.5 * (forecast.z50 + outer)))) if kind != "hold" else atr
    distance = min(max(wanted, TARGET_ATR_RANGE[0] * atr), TARGET_ATR_RANGE[1] * atr)
    return entry + side * distance, entry - side * STOP_ATR * atr


def decide(forecast: Forecast, entry: float, atr: float, calibration: Calibration) -> Decision:
    z = forecast.z50
    kind = direction(z, forecast, calibration.z_threshold)
    target, stop = levels(kind, z, forecast, entry, max(atr, entry * 1e-4))
    risk = abs(entry - stop)
    bin_index = calibration.lookup(abs(z))
    rates = calibration.trade_win_rate if kind != "hold" else calibration.hold_right_rate
    return Decision(
        type=kind,
        strength=abs(z),
        z=z,
        entry=entry,
        target=target,
        stop=stop,
        risk_reward=round(abs(target - entry) / risk, 3) if risk > 0 else 0.0,
        confidence=round(rates[bin_index], 4),
        score=strength_score(z),
        calibration_bin=bin_index,
    )


def strength_score(z: float) -> float:
    """0 (strongly bearish) … 5 (neutral) … 10 (strongly bullish)."""
    return round(5.0 + 5.0 * math.tanh(z / 0.5), 2)
