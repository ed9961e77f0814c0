"""Price forecast: quantile regression of the next-h-bar log return, walk-forward evaluated and exported.

The target is the log return over h bars divided by the volatility expected over that span
(`features.normalised_return`), so one gradient-boosted model per quantile (10 %, 50 %, 90 %) serves every
pair, timeframe and horizon (log h is an input). The three models are merged into one ONNX graph whose
output `quantiles` is (n, 3). Evaluation is walk-forward: for each later test period a model is fitted on
samples whose target window closed before the period starts, and compared with naive baselines.

Horizons: every sample draws its horizon log-uniformly from the integers 1..MAX_HORIZON, for every
timeframe, so training covers exactly the range the API accepts (POST /api/ai/predict, horizon ≤ 168).

The shipped model is not a refit on everything: it is the walk-forward model with the training cut-off
SHIPPED_CUTOFF (2021-12-01), so that 2021-12 → 2022-10 stays unseen by it. Its own held-out figures there
are what the API quotes as `confidence`, and the signal rule is calibrated and checked with it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import skl2onnx.common.tree_ensemble as tree_ensemble
from onnx import helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingRegressor

from ai_service.features import (
    FORECAST_INPUTS,
    TIMEFRAME_HOURS,
    Candles,
    bar_volatility,
    feature_matrix,
    forecast_inputs,
)

from . import export
from .data import DAILY_SYMBOLS, HOURLY_SYMBOLS, load_candles, resample

VERSION = "2.0.0"
QUANTILES = (0.1, 0.5, 0.9)
Z80 = 1.2815516  # standard normal 90 % quantile: the baseline's 80 % interval half-width in sigmas
MAX_HORIZON = 168
TIMEFRAMES = ("1h", "4h", "1d")
EVAL_HORIZONS = {"1h": (1, 24, 168), "4h": (6, 42, 168), "1d": (1, 7, 30, 168)}
DAY_MS = 86_400_000
FOLDS: tuple[tuple[str, int, int], ...] = (
    ("2021-06..2021-11", 1622505600000, 1638316800000),  # 2021-06-01 → 2021-12-01
    ("2021-12..2022-04", 1638316800000, 1651363200000),  # 2021-12-01 → 2022-05-01
    ("2022-05..2022-10", 1651363200000, 1665532800000),  # 2022-05-01 → 2022-10-12
)
HELD_OUT_START = FOLDS[0][1]
SHIPPED_FOLD = 1  # the shipped model is the one fitted before FOLDS[1] starts
SHIPPED_CUTOFF = FOLDS[SHIPPED_FOLD][1]


def _int_missing_flag(add_node: Any) -> Any:
    """skl2onnx 1.20 passes HistGradientBoosting's `missing_go_to_left` as a bool, which onnx 1.2x refuses
    in an ints attribute; cast it (same meaning: 1 = missing values go left)."""

    def patched(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> Any:
        return add_node(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs)

    return patched


if not getattr(tree_ensemble.add_node, "_casts_missing_flag", False):
    tree_ensemble.add_node = _int_missing_flag(tree_ensemble.add_node)
    tree_ensemble.add_node._casts_missing_flag = True  # type: ignore[attr-defined]


@dataclass
class Series:
    """One pair at one timeframe with everything the samples need."""

    symbol: str
    timeframe: str
    t: np.ndarray
    close: np.ndarray
    high: np.ndarray
    low: np.ndarray
    features: np.ndarray
    vol: np.ndarray
    atr: np.ndarray

    @property
    def bar_ms(self) -> int:
        return int(TIMEFRAME_HOURS[self.timeframe] * 3_600_000)


def make_series(symbol: str, timeframe: str, candles: Candles) -> Series:
    from ai_service.indicators import atr

    return Series(
        symbol,
        timeframe,
        candles.t,
        candles.c,
        candles.h,
        candles.l,
        feature_matrix(candles, TIMEFRAME_HOURS[timeframe]),
        bar_volatility(candles.c),
        atr(candles.h, candles.l, candles.c),
    )


def load_series() -> list[Series]:
    series = []
    for symbol in HOURLY_SYMBOLS:
        hourly = load_candles(symbol, "1h")
        series += [make_series(symbol, "1h", hourly), make_series(symbol, "4h", resample(hourly, 4))]
    return series + [make_series(symbol, "1d", load_candles(symbol, "1d")) for symbol in DAILY_SYMBOLS]


@dataclass
class Samples:
    x: np.ndarray
    z: np.ndarray  # normalised target
    log_return: np.ndarray
    scale: np.ndarray  # vol * sqrt(h): multiply z by it to get a log return
    anchor_t: np.ndarray
    end_t: np.ndarray
    horizon: np.ndarray


def samples(series: Series, horizons: np.ndarray, rows: np.ndarray) -> Samples:
    """Samples anchored at `rows` with the given horizons (same length); rows must leave room for h."""
    log_close = np.log(series.close)
    log_return = log_close[rows + horizons] - log_close[rows]
    scale = series.vol[rows] * np.sqrt(horizons)
    return Samples(
        forecast_inputs(series.features[rows], horizons.astype(np.float64)),
        log_return / scale,
        log_return,
        scale,
        series.t[rows],
        series.t[rows + horizons],
        horizons,
    )


def training_samples(all_series: list[Series], seed: int = 11) -> Samples:
    """One random horizon per candle (log-uniform over the integers 1..MAX_HORIZON), every candle after
    warm-up."""
    rng = np.random.default_rng(seed)
    parts = []
    for series in all_series:
        rows = np.flatnonzero(~np.isnan(series.features).any(axis=1))
        horizons = np.floor(np.exp(rng.uniform(0.0, np.log(MAX_HORIZON + 1), size=len(rows)))).astype(np.int64)
        keep = rows + horizons < len(series.close)
        parts.append(samples(series, horizons[keep], rows[keep]))
    return concat(parts)


def concat(parts: list[Samples]) -> Samples:
    return Samples(*(np.concatenate([getattr(part, name) for part in parts]) for name in Samples.__dataclass_fields__))


def subset(data: Samples, mask: np.ndarray) -> Samples:
    return Samples(*(getattr(data, name)[mask] for name in Samples.__dataclass_fields__))


def fit(data: Samples) -> list[HistGradientBoostingRegressor]:
    models = []
    for quantile in QUANTILES:
        model = HistGradientBoostingRegressor(
            loss="quantile",
            quantile=quantile,
            max_iter=150,
            learning_rate=0.06,
            max_leaf_nodes=15,
            min_samples_leaf=400,
            l2_regularization=1.0,
            random_state=3,
        )
        models.append(model.fit(data.x, data.z))
    return models


def predict(models: list[HistGradientBoostingRegressor], x: np.ndarray) -> np.ndarray:
    """(n, 3) normalised quantiles, sorted so the interval never crosses (as the service does)."""
    return np.sort(np.column_stack([model.predict(x) for model in models]), axis=1)


def to_onnx(models: list[HistGradientBoostingRegressor]) -> onnx.ModelProto:
    """One graph: input `features` (n, len(FORECAST_INPUTS)) → output `quantiles` (n, 3)."""
    width = len(FORECAST_INPUTS)
    nodes, initializers, outputs, opsets = [], [], [], {}
    for index, model in enumerate(models):
        part = convert_sklearn(model, initial_types=[("features", FloatTensorType([None, width]))], target_opset=17)
        part = onnx.compose.add_prefix(part, f"q{index}_")
        nodes.append(helper.make_node("Identity", ["features"], [f"q{index}_features"]))
        nodes.extend(part.graph.node)
        initializers.extend(part.graph.initializer)
        outputs.append(part.graph.output[0].name)
        opsets.update({item.domain: item.version for item in part.opset_import})
    nodes.append(helper.make_node("Concat", outputs, ["quantiles"], axis=1))
    graph = helper.make_graph(
        nodes,
        "forecast_quantiles",
        [helper.make_tensor_value_info("features", onnx.TensorProto.FLOAT, [None, width])],
        [helper.make_tensor_value_info("quantiles", onnx.TensorProto.FLOAT, [None, 3])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets.items()]
    )
    onnx.checker.check_model(model)
    return model


def pinball(truth: np.ndarray, predicted: np.ndarray, quantile: float) -> float:
    diff = truth - predicted
    return float(np.mean(np.maximum(quantile * diff, (quantile - 1) * diff)))


def score(truth: np.ndarray, quantiles: np.ndarray) -> dict[str, float]:
    """Pinball loss (in log-return %, mean of the three quantiles), direction, 80 % coverage, width."""
    moves = truth != 0
    return {
        "pinball_mean_pct": round(
            100 * float(np.mean([pinball(truth, quantiles[:, i], q) for i, q in enumerate(QUANTILES)])), 4
        ),
        "pinball_median_pct": round(100 * pinball(truth, quantiles[:, 1], 0.5), 4),
        "directional_accuracy": round(float(np.mean(np.sign(quantiles[moves, 1]) == np.sign(truth[moves]))), 4),
        "coverage_80": round(float(np.mean((truth >= quantiles[:, 0]) & (truth <= quantiles[:, 2]))), 4),
        "mean_width_pct": round(100 * float(np.mean(quantiles[:, 2] - quantiles[:, 0])), 3),
    }


def baseline_quantiles(data: Samples) -> np.ndarray:
    """Zero-return median and a historical-volatility normal 80 % interval."""
    return np.column_stack((-Z80 * data.scale, np.zeros_like(data.scale), Z80 * data.scale))


def evaluate_fold(
    models: list[HistGradientBoostingRegressor], all_series: list[Series], start: int, end: int
) -> dict[str, Any]:
    """Every anchor in [start, end) of the 1h series (and the 4h, 1d ones) at fixed horizons."""
    results: dict[str, Any] = {}
    for timeframe, horizons in EVAL_HORIZONS.items():
        for horizon in horizons:
            parts = [
                eval_samples(series, horizon, start, end) for series in all_series if series.timeframe == timeframe
            ]
            parts = [part for part in parts if len(part.z)]
            if not parts:  # the horizon reaches past the end of the data from every anchor of the period
                continue
            data = concat(parts)
            model_q = predict(models, data.x) * data.scale[:, None]
            always_up = float(np.mean(data.log_return[data.log_return != 0] > 0))
            results[f"{timeframe}_h{horizon}"] = {
                "n": len(data.z),
                "disjoint_windows": sum(disjoint_windows(part) for part in parts),
                "model": score(data.log_return, model_q),
                "baseline_zero_histvol": score(data.log_return, baseline_quantiles(data)),
                "baseline_always_up_directional_accuracy": round(always_up, 4),
            }
    return results


def disjoint_windows(part: Samples) -> int:
    """How many of one series' windows (anchor → target close) can be picked without any two overlapping.

    Every anchor is scored, so neighbouring windows share most of their path and `n` overstates how much
    evidence a figure rests on; this is the count of independent outcomes behind it (greedy by anchor time,
    optimal for windows of equal length)."""
    count, free_from = 0, np.iinfo(np.int64).min
    for anchor, end in zip(part.anchor_t.tolist(), part.end_t.tolist(), strict=True):
        if anchor >= free_from:
            count, free_from = count + 1, end
    return count


def eval_samples(series: Series, horizon: int, start: int, end: int) -> Samples:
    rows = np.flatnonzero((series.t >= start) & (series.t < end) & ~np.isnan(series.features).any(axis=1))
    rows = rows[rows + horizon < len(series.close)]
    rows = rows[series.t[rows + horizon] < end + horizon * series.bar_ms]
    return samples(series, np.full(len(rows), horizon), rows)


def walk_forward(all_series: list[Series], data: Samples) -> tuple[dict[str, Any], list[list[Any]]]:
    """Per fold: fit on samples whose target closed before the fold, score on the fold."""
    folds, models_per_fold = {}, []
    for name, start, end in FOLDS:
        models = fit(subset(data, data.end_t < start))
        models_per_fold.append(models)
        folds[name] = {
            "train_samples": int(np.sum(data.end_t < start)),
            **evaluate_fold(models, all_series, start, end),
        }
    return folds, models_per_fold


def train(all_series: list[Series]) -> tuple[dict[str, Any], list[list[Any]]]:
    """Walk-forward evaluation; the shipped model is the fold model with cut-off SHIPPED_CUTOFF, scored on
    everything after it (written to artifacts/). Returns its metadata and the fold models."""
    data = training_samples(all_series)
    folds, fold_models = walk_forward(all_series, data)
    shipped = fold_models[SHIPPED_FOLD]
    seen = subset(data, data.end_t < SHIPPED_CUTOFF)
    model = to_onnx(shipped)
    parity = parity_check(shipped, model, seen.x[:: max(1, len(seen.x) // 5000)])
    first, last = int(seen.anchor_t.min()), int(seen.end_t.max())
    shipped_eval = evaluate_fold(shipped, all_series, SHIPPED_CUTOFF, FOLDS[-1][2])
    reference = np.round(seen.x[:: len(seen.x) // 16][:16].astype(np.float32), 6)
    metadata = {
        "name": "forecast",
        "kind": "quantile-regression",
        "version": VERSION,
        "algorithm": "HistGradientBoostingRegressor, quantile loss, one per quantile (0.1, 0.5, 0.9), merged ONNX",
        "inputs": list(FORECAST_INPUTS),
        "output": "quantiles (n, 3) of the normalised log return",
        "target": "log(close[t+h] / close[t]) / (vol_24[t] * sqrt(h)); vol_24 = std of the last 24 one-bar log returns",
        "quantiles": list(QUANTILES),
        "timeframes": list(TIMEFRAMES),
        "trained_horizons": {timeframe: [1, MAX_HORIZON] for timeframe in TIMEFRAMES},
        "horizon_sampling": "log-uniform over the integers 1..168, one draw per anchor candle, every timeframe",
        "trained_on": {
            "dataset": "Binance spot candles (freqtrade export)",
            "pairs_1h_4h": list(HOURLY_SYMBOLS),
            "pairs_1d": list(DAILY_SYMBOLS),
            "samples": len(seen.z),
            "range": [_day(first), _day(last)],
            "range_ms": [first, last],
            "cutoff": _day(SHIPPED_CUTOFF),
            "note": "the shipped model is the walk-forward model whose samples' targets all closed before the "
            "cut-off; it is not refitted on later data, so everything after the cut-off is unseen by it",
        },
        "evaluation": {
            "method": "shipped model scored on every anchor after its training cut-off (overlapping windows); "
            "walk-forward folds (expanding window) below evaluate the method",
            "held_out_range": [_day(SHIPPED_CUTOFF), _day(FOLDS[-1][2])],
            "summary": shipped_eval,
            "walk_forward": {
                "method": "each fold's model saw only samples whose target closed before the fold",
                "folds": folds,
                "summary": summarise(folds),
            },
        },
        "onnx_vs_sklearn_max_abs_diff": parity,
        "parity_reference": {
            "features": reference.tolist(),
            "quantiles": np.column_stack([m.predict(reference) for m in shipped]).round(7).tolist(),
        },
    }
    export.save(model, "forecast", metadata)
    return metadata, fold_models


def parity_check(models: list[HistGradientBoostingRegressor], model: onnx.ModelProto, x: np.ndarray) -> float:
    session = export.session(model)
    onnx_q = session.run(None, {"features": x.astype(np.float32)})[0]
    raw = np.column_stack([m.predict(x) for m in models])
    return float(np.max(np.abs(onnx_q - raw)))


def summarise(folds: dict[str, Any]) -> dict[str, Any]:
    """Sample-weighted averages over folds per (timeframe, horizon)."""
    keys = dict.fromkeys(key for fold in folds.values() for key in fold if key != "train_samples")
    summary = {}
    for key in keys:
        entries = [fold[key] for fold in folds.values() if key in fold]
        weights = np.asarray([entry["n"] for entry in entries], dtype=float)
        summary[key] = {
            "n": int(weights.sum()),
            "disjoint_windows": sum(entry["disjoint_windows"] for entry in entries),
            **{
                side: {
                    metric: round(float(np.average([e[side][metric] for e in entries], weights=weights)), 4)
                    for metric in entries[0][side]
                }
                for side in ("model", "baseline_zero_histvol")
            },
            "baseline_always_up_directional_accuracy": round(
                float(np.average([e["baseline_always_up_directional_accuracy"] for e in entries], weights=weights)), 4
            ),
        }
    return summary


def _day(ms: int) -> str:
    return np.datetime64(int(ms), "ms").astype("datetime64[D]").astype(str)
