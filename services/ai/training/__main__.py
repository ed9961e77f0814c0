"""`make train`: rebuild the sentiment and forecast ONNX models, the signal calibration and the report."""

from __future__ import annotations

import json
import logging
import time

from . import backtest, export, forecast, report, sentiment

log = logging.getLogger("training")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    start = time.perf_counter()
    log.info("sentiment: training and exporting")
    sentiment_meta = sentiment.train()
    log.info("forecast: loading candles")
    series = forecast.load_series()
    log.info("forecast: walk-forward evaluation and final fit")
    forecast_meta, fold_models = forecast.train(series)
    log.info("signals: calibration and backtest")
    signals_meta = {
        **backtest.run(series, fold_models),
        "version": forecast.VERSION,
        "uses_model": {"name": "forecast", "version": forecast.VERSION},
    }
    (export.ARTIFACTS / "signals.json").write_text(json.dumps(signals_meta, indent=2) + "\n")
    path = report.write(sentiment_meta, forecast_meta, signals_meta)
    log.info("done in %.0f s; report at %s", time.perf_counter() - start, path)


if __name__ == "__main__":
    main()
