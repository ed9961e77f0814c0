"""`make train`: rebuild the sentiment models (transformer and TF-IDF fallback), the forecast model, the
signal calibration, REPORT.md and MODEL_CARD.md. Runs in the training environment `make train` creates."""

from __future__ import annotations

import json
import logging
import time

from . import backtest, export, forecast, headlines, report, sentiment
from .data import evaluation_sets

log = logging.getLogger("training")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    start = time.perf_counter()
    log.info("sentiment (TF-IDF fallback): training and exporting")
    tfidf_meta = sentiment.train()
    log.info("sentiment (transformer): fine-tuning, exporting, evaluating")
    transformer_meta = headlines.train(evaluation_sets(), sentiment.scores, sentiment.exported_labels)
    log.info("forecast: loading candles")
    series = forecast.load_series()
    log.info("forecast: walk-forward evaluation, shipped model")
    forecast_meta, fold_models = forecast.train(series)
    log.info("signals: calibration and checks")
    signals_meta = {**backtest.run(series, fold_models), "version": forecast.VERSION}
    signals_meta["uses_model"]["version"] = forecast.VERSION
    (export.ARTIFACTS / "signals.json").write_text(json.dumps(signals_meta, indent=2) + "\n")
    seconds = time.perf_counter() - start
    paths = report.write(transformer_meta, tfidf_meta, forecast_meta, signals_meta, seconds)
    log.info("done in %.0f s; wrote %s", seconds, ", ".join(str(path) for path in paths))


if __name__ == "__main__":
    main()
