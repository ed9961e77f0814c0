"""Signals with the shipped forecast model: calibrate the rule after the model's training cut-off, then check
it on a later period and on a pair never used at 1h, against always-hold and buy-and-hold.

- Windows never overlap: per series one anchor every `horizon` bars (the trade's own length), so every count
  below is a count of independent-in-time trades, and every interval is computed from those windows.
- Calibration (SHIPPED_FOLD's period, 2021-12 → 2022-04): windows are cut into equal-count bins of strength
  |z| (so no bin is empty); the per-bin rate at which a trade in the forecast's direction was profitable
  after fees is made monotone (non-decreasing in strength) by pooling adjacent violators. The threshold is
  the bin edge with the best mean net return among those with at least MIN_TRADES trades and a positive
  mean; when none qualifies the rule never trades (threshold = the last edge) and the report says so.
- Check (2022-05 → 2022-10, and ADA/USDT hourly 2020-08 → 2021-06, a pair no model was trained on at 1h):
  stated vs realised rate per bin with counts, and per-window returns of the rule, always-hold (0) and
  buy-and-hold, each with a 95 % interval over the windows.
- Intervals: windows of one series never overlap, but the pairs (and a pair's 1h and 4h series) trade at the
  same time and move together, so windows are not independent across series. Every interval is therefore
  cluster-robust over 7-day blocks of anchor time (all windows that start in the same block form one
  cluster; Student t with clusters − 1 degrees of freedom), not a per-window formula that would count
  BTC's and ETH's same-day windows as two independent draws.

A trade enters at the anchor candle's close, exits at the target or stop (stop first when one candle
touches both, the cautious reading) or at the close `horizon` bars later, and pays FEE_PER_SIDE twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ai_service.signals import FEE_PER_SIDE, SIGNAL_HORIZON, Calibration, Forecast, SignalType, decide, levels

from .data import load_cryptodatadownload
from .forecast import FOLDS, SHIPPED_FOLD, Series, _day, make_series, predict

BINS = 5
MIN_TRADES = 100
CLUSTER_MS = 7 * 86_400_000  # windows whose anchors fall in the same 7-day block share one cluster


@dataclass
class Anchor:
    series: Series
    row: int
    forecast: Forecast


def anchors(series: Series, models: list[Any], start: int, end: int) -> list[Anchor]:
    """Non-overlapping windows: one anchor every `horizon` bars whose whole window lies in [start, end)."""
    horizon = SIGNAL_HORIZON[series.timeframe]
    rows = np.flatnonzero((series.t >= start) & (series.t < end) & ~np.isnan(series.features).any(axis=1))
    rows = rows[rows + horizon < len(series.close)]
    rows = rows[series.t[rows + horizon] < end][::horizon]
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


def monotone(rates: list[float], counts: list[int]) -> list[float]:
    """Pool adjacent violators: the count-weighted non-decreasing sequence closest to `rates`."""
    blocks: list[list[float]] = []  # [rate, weight, bins]
    for rate, count in zip(rates, counts, strict=True):
        blocks.append([rate, float(count), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            rate_b, weight_b, bins_b = blocks.pop()
            rate_a, weight_a, bins_a = blocks.pop()
            weight = weight_a + weight_b
            blocks.append([(rate_a * weight_a + rate_b * weight_b) / weight, weight, bins_a + bins_b])
    return [round(block[0], 4) for block in blocks for _ in range(int(block[2]))]


def calibrate(points: list[Anchor], period: str) -> tuple[Calibration, dict[str, Any]]:
    strength = np.asarray([abs(a.forecast.z50) for a in points])
    outcome = np.asarray([directional_trade(a) for a in points])
    inner = [round(float(q), 4) for q in np.quantile(strength, np.arange(1, BINS) / BINS)]
    edges = (0.0, *inner, 99.0)
    bins = np.clip(np.searchsorted(edges, strength, side="right") - 1, 0, BINS - 1)
    counts = [int(np.sum(bins == b)) for b in range(BINS)]
    raw = [float(np.mean(outcome[bins == b] > 0)) for b in range(BINS)]
    win = monotone(raw, counts)
    by_threshold = {
        str(th): {
            "trades": int(np.sum(strength >= th)),
            "mean_net_return_pct": round(100 * float(np.mean(outcome[strength >= th])), 4),
        }
        for th in edges[:-1]
    }
    eligible = [
        th
        for th in edges[:-1]
        if by_threshold[str(th)]["trades"] >= MIN_TRADES and by_threshold[str(th)]["mean_net_return_pct"] > 0
    ]
    threshold = max(eligible, key=lambda th: by_threshold[str(th)]["mean_net_return_pct"]) if eligible else edges[-1]
    calibration = Calibration(
        edges=edges,
        trade_win_rate=tuple(win),
        hold_right_rate=tuple(round(1 - w, 4) for w in win),
        counts=tuple(counts),
        z_threshold=float(threshold),
        period=period,
    )
    info = {
        "threshold_search": by_threshold,
        "chosen_threshold": threshold,
        "never_trades": not eligible,
        "raw_trade_win_rate": [round(r, 4) for r in raw],
    }
    return calibration, info


def cluster_of(anchor: Anchor) -> int:
    return int(anchor.series.t[anchor.row]) // CLUSTER_MS


def clustered_ci(values: list[float], clusters: list[int]) -> tuple[float, list[float]] | None:
    """Mean and its 95 % interval with a cluster-robust standard error (CR1: the sum over clusters of the
    squared residual sums, times G / (G - 1)); None with fewer than two clusters."""
    array, groups = np.asarray(values, dtype=float), np.asarray(clusters)
    labels, index = np.unique(groups, return_inverse=True)
    if len(labels) < 2:
        return None
    mean = float(array.mean())
    sums = np.bincount(index, weights=array - mean)
    variance = len(labels) / (len(labels) - 1) * float(np.sum(sums**2)) / len(array) ** 2
    half = float(stats.t.ppf(0.975, len(labels) - 1)) * math.sqrt(variance)
    return mean, [mean - half, mean + half]


def rate_ci(outcomes: list[bool], clusters: list[int]) -> list[float] | None:
    """95 % interval of a rate (clustered, clipped to 0…1)."""
    found = clustered_ci([float(o) for o in outcomes], clusters)
    return None if found is None else [round(max(0.0, found[1][0]), 4), round(min(1.0, found[1][1]), 4)]


def mean_ci(values: list[float], clusters: list[int]) -> dict[str, Any]:
    """Mean per window in %, with a clustered 95 % interval (see the module docstring)."""
    found = clustered_ci(values, clusters)
    if found is None:
        return {"n": len(values), "clusters": len(set(clusters)), "mean_pct": None, "ci95_pct": None}
    mean, (low, high) = found
    return {
        "n": len(values),
        "clusters": len(set(clusters)),
        "mean_pct": round(100 * mean, 4),
        "ci95_pct": [round(100 * low, 4), round(100 * high, 4)],
    }


def reliability(points: list[Anchor], calibration: Calibration) -> list[dict[str, Any]]:
    """Per bin: the trade win rate the table states and the one realised here, with counts."""
    rows = []
    outcome = {id(a): directional_trade(a) > 0 for a in points}
    for index in range(len(calibration.edges) - 1):
        mine = [a for a in points if calibration.lookup(abs(a.forecast.z50)) == index]
        picked = [outcome[id(a)] for a in mine]
        interval = rate_ci(picked, [cluster_of(a) for a in mine])
        stated = calibration.trade_win_rate[index]
        rows.append(
            {
                "bin": [calibration.edges[index], calibration.edges[index + 1]],
                "stated_trade_win_rate": stated,
                "n": len(picked),
                "realised_trade_win_rate": round(float(np.mean(picked)), 4) if picked else None,
                "realised_ci95": interval,
                "stated_inside_ci95": None if interval is None else interval[0] <= stated <= interval[1],
            }
        )
    return rows


def backtest(points: list[Anchor], calibration: Calibration) -> dict[str, Any]:
    """Per window: the rule's net return (0 when it holds), always-hold (0) and buy-and-hold."""
    strategy, market, per_symbol = [], [], {}
    won: list[bool] = []  # one per signal: did the trade pay
    clusters = [cluster_of(anchor) for anchor in points]
    won_clusters = []
    for anchor, cluster in zip(points, clusters, strict=True):
        series, row, horizon = anchor.series, anchor.row, anchor.forecast.horizon
        entry = series.close[row]
        decision = decide(anchor.forecast, entry, series.atr[row], calibration)
        held = float(series.close[row + horizon] / entry - 1.0)
        result = 0.0
        if decision.type != "hold":
            result = trade_return(series, row, decision.type, decision.target, decision.stop, horizon)
            won.append(result > 0)
            won_clusters.append(cluster)
        strategy.append(result)
        market.append(held)
        mine = per_symbol.setdefault(series.symbol, {"windows": 0, "signals": 0, "rule": 1.0, "buy_and_hold": 1.0})
        mine["windows"] += 1
        mine["signals"] += decision.type != "hold"
        mine["rule"] *= 1 + result
        mine["buy_and_hold"] *= 1 + held
    return {
        "windows": len(points),
        "signals": len(won),
        "holds": len(points) - len(won),
        "hit_rate": round(sum(won) / len(won), 4) if won else None,
        "hit_rate_ci95": rate_ci(won, won_clusters),
        "rule_per_window": mean_ci(strategy, clusters),
        "always_hold_per_window": {"n": len(points), "mean_pct": 0.0, "ci95_pct": [0.0, 0.0]},
        "buy_and_hold_per_window": mean_ci(market, clusters),
        "rule_minus_buy_and_hold_per_window": mean_ci([s - m for s, m in zip(strategy, market, strict=True)], clusters),
        "per_symbol_compounded_pct": {
            symbol: {
                "windows": row["windows"],
                "signals": row["signals"],
                "rule": round(100 * (row["rule"] - 1), 2),
                "buy_and_hold": round(100 * (row["buy_and_hold"] - 1), 2),
            }
            for symbol, row in per_symbol.items()
        },
    }


def check(points: list[Anchor], calibration: Calibration) -> dict[str, Any]:
    """Reliability and backtest, pooled and per timeframe."""
    result: dict[str, Any] = {"all": {"reliability": reliability(points, calibration), **backtest(points, calibration)}}
    for timeframe in SIGNAL_HORIZON:
        mine = [a for a in points if a.series.timeframe == timeframe]
        if mine:
            result[timeframe] = backtest(mine, calibration)
    return result


def run(series_list: list[Series], fold_models: list[list[Any]]) -> dict[str, Any]:
    """Calibrate with the shipped model on the period after its cut-off, check on the next period and on
    ADA hourly; returns the signals metadata."""
    shipped = fold_models[SHIPPED_FOLD]
    name, start, end = FOLDS[SHIPPED_FOLD]
    calibration_points = [a for s in series_list for a in anchors(s, shipped, start, end)]
    calibration, search = calibrate(calibration_points, f"{_day(start)} → {_day(end - 1)}")
    later_name, later_start, later_end = FOLDS[SHIPPED_FOLD + 1]
    later = [a for s in series_list for a in anchors(s, shipped, later_start, later_end)]
    ada_series = make_series("ADA", "1h", load_cryptodatadownload("Binance_ADAUSDT_1h.csv.gz"))
    ada = anchors(ada_series, shipped, int(ada_series.t[0]), int(ada_series.t[-1]) + 1)
    return {
        "name": "signals",
        "kind": "rule on the forecast (no separate model file)",
        "uses_model": {"name": "forecast", "cutoff": _day(start)},
        "trained_on": {
            "dataset": "shipped forecast model's predictions on Binance candles after its training cut-off",
            "range": [_day(start), _day(end - 1)],
        },
        "sentiment": "not used: no sentiment history aligned with the candles to fit its weight",
        "calibration": {
            "fitted_on": name,
            "period": calibration.period,
            "windows": len(calibration_points),
            "windows_rule": "non-overlapping: one anchor every horizon bars per series (1h: 24, 4h: 12, 1d: 5)",
            "interval_rule": "95 %, cluster-robust over 7-day blocks of anchor time (series that trade at the "
            "same time share a cluster), Student t with clusters - 1 degrees of freedom",
            **search,
            "edges": list(calibration.edges),
            "trade_win_rate": list(calibration.trade_win_rate),
            "hold_right_rate": list(calibration.hold_right_rate),
            "counts": list(calibration.counts),
            "z_threshold": calibration.z_threshold,
        },
        "calibration_check": {
            "later_period": {"period": later_name, **check(later, calibration)},
            "ada_hourly": {
                "period": f"{_day(int(ada_series.t[0]))} → {_day(int(ada_series.t[-1]))}",
                "note": "ADA/USDT 1h (CryptoDataDownload export): no model trained on ADA hourly, but the period "
                "lies before the model's cut-off, and ADA's daily candles of that period and other pairs' "
                "hourly ones were trained on: a check of a new pair at 1h, not of unseen time",
                **check(ada, calibration),
            },
        },
        "backtest": {"period": later_name, "fees": f"{FEE_PER_SIDE:.2%} per side"},
    }
