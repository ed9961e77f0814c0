"""The price forecast: quantiles of the log return for each of the next `horizon` bars, from candles.

One ONNX call scores every step at once (one input row per horizon 1..h, all sharing the latest feature
row), so a 168-step path costs about as much as one step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from suite_shared.errors import InvalidParameter
from suite_shared.metrics import MODEL_BATCH_ROWS, MODEL_INFERENCE

from .features import TIMEFRAME_HOURS, Candles, bar_volatility, feature_matrix, forecast_inputs
from .indicators import WARMUP
from .registry import LoadedModel
from .signals import Forecast

MIN_CANDLES = WARMUP + 1


class NotEnoughHistory(ValueError):
    """Fewer candles than the features need."""


@dataclass(frozen=True)
class ForecastPath:
    """Per step k = 1..h: the normalised quantiles and their scale (vol * sqrt(k))."""

    last_close: float
    last_open_time: int
    bar_ms: int
    z: np.ndarray  # (h, 3), sorted per row
    scale: np.ndarray  # (h,)

    def prices(self) -> np.ndarray:
        """(h, 3) prices at the 10 %, 50 % and 90 % quantiles."""
        return self.last_close * np.exp(self.z * self.scale[:, None])

    def step(self, horizon: int) -> Forecast:
        z10, z50, z90 = (float(value) for value in self.z[horizon - 1])
        return Forecast(z10=z10, z50=z50, z90=z90, scale=float(self.scale[horizon - 1]), horizon=horizon)


class Forecaster:
    def __init__(self, model: LoadedModel) -> None:
        assert model.session is not None
        self.session = model.session
        self.name = model.name
        self.version: str = model.metadata["version"]
        self.metadata = model.metadata

    def check_horizon(self, timeframe: str, horizon: int) -> None:
        """The contract's 400 for a horizon outside the range the model was trained on at that timeframe."""
        low, high = self.metadata["trained_horizons"][timeframe]
        if not low <= horizon <= high:
            shown = horizon if abs(horizon) < 10**12 else "a number far outside it"
            raise InvalidParameter(
                f"horizon must be {low}…{high} candles at {timeframe} (the range the model was trained on), "
                f"got {shown}.",
                {"horizon": horizon, "timeframe": timeframe, "min": low, "max": high},
            )

    def path(self, candles: Candles, timeframe: str, horizon: int) -> ForecastPath:
        if len(candles) < MIN_CANDLES:
            raise NotEnoughHistory(f"need at least {MIN_CANDLES} closed candles, got {len(candles)}")
        features = feature_matrix(candles, TIMEFRAME_HOURS[timeframe])[-1]
        vol = float(bar_volatility(candles.c)[-1])
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        rows = forecast_inputs(np.repeat(features[None, :], horizon, axis=0), steps)
        with MODEL_INFERENCE.labels(self.name).time():
            raw = self.session.run(None, {"features": rows})[0]
        MODEL_BATCH_ROWS.labels(self.name).observe(len(rows))
        z = np.sort(raw, axis=1)
        return ForecastPath(
            last_close=float(candles.c[-1]),
            last_open_time=int(candles.t[-1]),
            bar_ms=int(TIMEFRAME_HOURS[timeframe] * 3_600_000),
            z=z.astype(np.float64),
            scale=vol * np.sqrt(steps),
        )


def nearest_evaluation(metadata: dict[str, Any], timeframe: str, horizon: int) -> dict[str, Any] | None:
    """The held-out figures of the model at the evaluated horizon nearest (in log terms) to `horizon`."""
    summary: dict[str, Any] = metadata.get("evaluation", {}).get("summary", {})
    candidates = [
        (abs(math.log(int(key.split("_h")[1]) / horizon)), value)
        for key, value in summary.items()
        if key.startswith(f"{timeframe}_h")
    ]
    return min(candidates, key=lambda item: item[0])[1]["model"] if candidates else None
