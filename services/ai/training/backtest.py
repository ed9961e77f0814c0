"""Signals on held-out candles: calibrate the rule on the first walk-forward fold, backtest it on the later
ones.

Each fold's forecasts come from the model fitted before that fold (see forecast.walk_forward), so no
signal used the future. A trade enters at the anchor candle's close, exits at the target or stop (stop
first when one candle touches both, the cautious reading) or at the close `horizon` bars later, and pays
FEE_PER_SIDE on entry and exit. Buy-and-hold over the same windows is the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_service.signals import FEE_PER_SIDE, SIGNAL_HORIZON, Calibration, Forecast, SignalType, decide, levels

from .forecast import FOLDS, Series, _day, predict

EDGES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 99.0)
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass
class Anchor:
    series: Series
    row: int
    forecast: Forecast


def anchors(series: Series, models: list[Any], start: int, end: int, stride: int) -> list[Anchor]:
    horizon = SIGNAL_HORIZON[series.timeframe]
    rows = np.flatnonzero((series.t >= start) & (series.t < end) & ~np.isnan(series.features).any(axis=1))
    rows = rows[rows + horizon < len(series.close)][::stride]
    if len(rows) == 0:
        return []
    x = np.column_stack((series.features[rows], np.full(len(rows), np.log(horizon)))).astype(np.float32)
    quantiles = predict(models, x)
    scale = series.vol[rows] * np.sqrt(horizon)
    return [
        Anchor(series, int(row), Forecast(*map(float, q), scale=float(s), horizon=horizon))
        for row, q, s in zip(rows, quantiles, scale, strict=True)
    ]


def trade_return(series: Series, row: int, kind: SignalType, target: float, stop: float, horizon: int) -> float:
    """Net simple return of the trade (after both fees)."""
    entry, side = series.close[row], 1.0 if kind == "buy" else -1.0
    exit_price = series.close[row + horizon]
    for step in range(row + 1, row + horizon + 1):
        high, low = series.high[step], series.low[step]
        stop_hit = low <= stop if side > 0 else high >= stop
        target_hit = high >= target if side > 0 else low <= target
        if stop_hit or target_hit:
            exit_price = stop if stop_hit else target
            break
    return side * (exit_price / entry - 1.0) - 2 * FEE_PER_SIDE


def directional_trade(anchor: Anchor) -> float:
    """What a trade in the median's direction would have returned, whatever the threshold."""
    kind: SignalType = "buy" if anchor.forecast.z50 >= 0 else "sell"
    entry, atr = anchor.series.close[anchor.row], anchor.series.atr[anchor.row]
    target, stop = levels(kind, anchor.forecast.z50, anchor.forecast, entry, atr)
    return trade_return(anchor.series, anchor.row, kind, target, stop, anchor.forecast.horizon)


def calibrate(points: list[Anchor]) -> tuple[Calibration, dict[str, Any]]:
    strength = np.asarray([abs(a.forecast.z50) for a in points])
    outcome = np.asarray([directional_trade(a) for a in points])
    bins = np.clip(np.searchsorted(EDGES, strength, side="right") - 1, 0, len(EDGES) - 2)
    counts = [int(np.sum(bins == b)) for b in range(len(EDGES) - 1)]
    win = [_rate(outcome[bins == b] > 0) for b in range(len(EDGES) - 1)]
    by_threshold = {
        str(th): {
            "trades": int(np.sum(strength >= th)),
            "mean_net_return_pct": round(100 * float(np.mean(outcome[strength >= th])), 4)
            if np.any(strength >= th)
            else None,
        }
        for th in THRESHOLDS
    }
    eligible = [th for th in THRESHOLDS if by_threshold[str(th)]["trades"] >= 300]
    best = max(eligible or [THRESHOLDS[0]], key=lambda th: by_threshold[str(th)]["mean_net_return_pct"] or -1e9)
    calibration = Calibration(
        edges=EDGES,
        trade_win_rate=tuple(win),
        hold_right_rate=tuple(1 - w for w in win),
        counts=tuple(counts),
        z_threshold=float(best),
    )
    return calibration, {"threshold_search": by_threshold, "chosen_threshold": best}


def _rate(flags: np.ndarray) -> float:
    return round(float(np.mean(flags)), 4) if len(flags) else 0.5


def backtest(series_list: list[Series], fold_models: list[list[Any]], calibration: Calibration) -> dict[str, Any]:
    """Non-overlapping signals (one every `horizon` bars) on folds 2.. per timeframe."""
    report: dict[str, Any] = {}
    for timeframe, horizon in SIGNAL_HORIZON.items():
        trades, holds, market, confidences, per_symbol = [], 0, [], [], {}
        for series in (s for s in series_list if s.timeframe == timeframe):
            symbol_trades, symbol_market = [], []
            for models, (_, start, end) in zip(fold_models[1:], FOLDS[1:], strict=True):
                for anchor in anchors(series, models, start, end, stride=horizon):
                    entry = series.close[anchor.row]
                    decision = decide(anchor.forecast, entry, series.atr[anchor.row], calibration)
                    held = series.close[anchor.row + horizon] / entry - 1.0
                    symbol_market.append(held)
                    if decision.type == "hold":
                        holds += 1
                        continue
                    result = trade_return(series, anchor.row, decision.type, decision.target, decision.stop, horizon)
                    symbol_trades.append(result)
                    confidences.append((decision.confidence, result > 0))
            trades += symbol_trades
            market += symbol_market
            per_symbol[series.symbol] = {
                "signals": len(symbol_trades),
                "windows": len(symbol_market),
                "strategy_compounded_pct": round(100 * (float(np.prod(1 + np.asarray(symbol_trades))) - 1), 2),
                "buy_and_hold_pct": round(100 * (float(np.prod(1 + np.asarray(symbol_market))) - 1), 2),
            }
        report[timeframe] = summarise(trades, holds, market, confidences, horizon, per_symbol)
    return report


def summarise(
    trades: list[float],
    holds: int,
    market: list[float],
    confidences: list[tuple[float, bool]],
    horizon: int,
    per_symbol: dict[str, Any],
) -> dict[str, Any]:
    returns = np.asarray(trades)
    reliability = {}
    for low, high in ((0.0, 0.45), (0.45, 0.5), (0.5, 0.55), (0.55, 1.01)):
        picked = [won for confidence, won in confidences if low <= confidence < high]
        reliability[f"{low:.2f}-{min(high, 1):.2f}"] = {"n": len(picked), "win_rate": _rate(np.asarray(picked))}
    return {
        "horizon_bars": horizon,
        "signals": len(trades),
        "holds": holds,
        "windows": len(market),
        "hit_rate": _rate(returns > 0) if len(returns) else None,
        "avg_net_return_per_signal_pct": round(100 * float(np.mean(returns)), 4) if len(returns) else None,
        "avg_buy_and_hold_return_per_window_pct": round(100 * float(np.mean(market)), 4) if market else None,
        "fees": f"{FEE_PER_SIDE:.2%} per side",
        "confidence_reliability": reliability,
        "per_symbol": per_symbol,
    }


def run(series_list: list[Series], fold_models: list[list[Any]]) -> dict[str, Any]:
    """Calibrate on fold 1 (every anchor), backtest on the later folds; returns the signals metadata."""
    _, start, end = FOLDS[0]
    points = [a for s in series_list for a in anchors(s, fold_models[0], start, end, stride=1)]
    calibration, search = calibrate(points)
    return {
        "name": "signals",
        "kind": "rule on the forecast (no separate model file)",
        "trained_on": {
            "dataset": "forecast walk-forward predictions on held-out Binance candles",
            "range": [_day(start), _day(end - 1)],
        },
        "calibration": {
            "fitted_on": FOLDS[0][0],
            "anchors": len(points),
            **search,
            "edges": list(calibration.edges),
            "trade_win_rate": list(calibration.trade_win_rate),
            "hold_right_rate": list(calibration.hold_right_rate),
            "counts": list(calibration.counts),
            "z_threshold": calibration.z_threshold,
        },
        "backtest": {"period": [FOLDS[1][0], FOLDS[-1][0]], **backtest(series_list, fold_models, calibration)},
    }
