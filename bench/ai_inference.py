"""Model inference: ONNX Runtime (as the ai service runs it) vs the training frameworks, in one run.

    make bench-ai   # after `make train` (it needs the training environment and the fine-tuned checkpoint)

For each model, latency p50/p99 and throughput at batch 1 and batch 64, under onnxruntime (the shipped
.onnx files through the service's own classes, one session, one thread, no spinning) and under the training
framework (torch for the transformer, from the checkpoint `make train` leaves; scikit-learn for the TF-IDF
and forecast models, refitted with the training code), all limited to one thread, so the comparison is core
for core. Headlines are Financial PhraseBank sentences (real, mixed lengths). Also the model time of one
full signal (features from 400 candles + forecast + rule). Writes bench/results/ai_inference.json and .md.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services" / "ai"))

import bench_results  # noqa: E402 - bench/bench_results.py, beside this script
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from training import forecast as forecast_training  # noqa: E402
from training import headlines as headlines_training  # noqa: E402
from training import sentiment as sentiment_training  # noqa: E402
from training.data import evaluation_sets, load_candles, load_twitter  # noqa: E402

from ai_service import tokens  # noqa: E402
from ai_service.features import Candles, feature_matrix, forecast_inputs  # noqa: E402
from ai_service.forecaster import Forecaster  # noqa: E402
from ai_service.indicators import atr  # noqa: E402
from ai_service.registry import load_registry  # noqa: E402
from ai_service.sentiment import SentimentModel  # noqa: E402
from ai_service.signal_feed import calibration_from  # noqa: E402
from ai_service.signals import decide  # noqa: E402

BUDGET_S = 2.0  # wall time per measurement


def measure(call: Callable[[], Any], batch: int) -> dict[str, float]:
    """Repeat `call` for about BUDGET_S; latency per call (ms) and items per second."""
    for _ in range(5):
        call()
    timings = []
    deadline = time.perf_counter() + BUDGET_S
    while time.perf_counter() < deadline or len(timings) < 30:
        start = time.perf_counter()
        call()
        timings.append(time.perf_counter() - start)
    return summary(timings, batch)


def bench_sentiment(registry: Any) -> dict[str, Any]:
    """The shipped transformer (service code: tokenise the batch, ONNX calls on buckets of similar length), its
    torch original, the TF-IDF fallback under onnxruntime and scikit-learn; batch 1 and 64 interleaved (see
    `paired`)."""
    import torch

    torch.set_num_threads(1)
    transformer = SentimentModel(registry.models["sentiment"])
    tfidf_model = registry.standby["sentiment-tfidf"]
    tfidf = SentimentModel(tfidf_model)
    framework, _ = trained_transformer()
    framework.serving = registry.models["sentiment"].metadata["output_selection"]["chosen"]  # the shipped head
    train = load_twitter("train")
    pipeline = sentiment_training.build(tfidf_model.metadata["tuning"]["chosen_c"]).fit(train.texts, train.labels)
    sets = headlines_training.latency_sets(evaluation_sets())
    runs = {
        "transformer_onnx_int8": transformer.probabilities,
        "transformer_torch_fp32": lambda chunk: headlines_training.torch_probabilities(framework, chunk),
        "tfidf_onnx": tfidf.probabilities,
        "tfidf_sklearn": pipeline.predict_proba,
    }
    result: dict[str, Any] = {
        name: {key: paired(run, texts) for key, run in runs.items()} for name, texts in sets.items()
    }
    result["bucket_sizes"] = bucket_sizes(transformer, sets["headlines"])
    return result


def paired(run: Callable[[list[str]], Any], texts: list[str], budget_s: float = BUDGET_S * 3) -> dict[str, Any]:
    """Batch 1 and batch 64 measured in alternation, so both see the same load on this shared machine: each
    round scores the next 64 texts in one call, then 8 of them one by one. p50/p99 per call, per item."""
    one: list[float] = []
    many: list[float] = []
    at, deadline = 0, time.perf_counter() + budget_s
    while time.perf_counter() < deadline or len(many) < 5:
        chunk = [texts[(at + k) % len(texts)] for k in range(64)]
        at += 64
        begin = time.perf_counter()
        run(chunk)
        many.append(time.perf_counter() - begin)
        for text in chunk[:8]:
            begin = time.perf_counter()
            run([text])
            one.append(time.perf_counter() - begin)
    return {"batch_1": summary(one, 1), "batch_64": summary(many, 64)}


def summary(timings: list[float], batch: int) -> dict[str, float]:
    """Timings of calls (s) of `batch` items each: latency per call (ms) and items per second."""
    values = np.asarray(timings) * 1000
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 4),
        "p99_ms": round(float(np.percentile(values, 99)), 4),
        "per_item_p50_ms": round(float(np.percentile(values, 50)) / batch, 4),
        "items_per_s": round(batch * len(values) / (values.sum() / 1000), 1),
        "calls": len(values),
    }


def trained_transformer() -> tuple[Any, float]:
    """The fine-tuned torch model from `make train`'s checkpoint (never retrained here)."""
    if not headlines_training.CHECKPOINT.exists():
        raise SystemExit("no checkpoint: run `make train` first")
    os.environ["HEADLINES_REUSE_CHECKPOINT"] = "1"
    return headlines_training.trained_model()


def bucket_sizes(model: SentimentModel, texts: list[str]) -> dict[str, Any]:
    """The service's path for 64 headlines with other texts-per-call than the shipped tokens.BUCKET: 1 is the
    previous design (one call per text), 64 one padded call. ms per item at batch 64."""
    assert model.tokenizer is not None
    tokenizer = model.tokenizer

    def bucketed(size: int) -> Callable[[list[str]], Any]:
        def run(chunk: list[str]) -> None:
            tokens.run_bucketed([e.ids for e in tokenizer.encode_batch(chunk)], model._run, size)

        return run

    return {
        f"buckets_of_{size}": paired(bucketed(size), texts, budget_s=BUDGET_S * 2)["batch_64"]["per_item_p50_ms"]
        for size in (1, 8, tokens.BUCKET, 64)
    }


def bench_forecast(registry: Any) -> tuple[dict[str, Any], list[Any]]:
    series = forecast_training.load_series()
    data = forecast_training.training_samples(series)
    models = forecast_training.fit(data)
    session: ort.InferenceSession = registry.models["forecast"].session
    result: dict[str, Any] = {}
    for batch in (1, 64):
        rows = data.x[-batch:].astype(np.float32)
        result[f"batch_{batch}"] = {
            "onnxruntime": measure(lambda rows=rows: session.run(None, {"features": rows}), batch),
            "sklearn": measure(lambda rows=rows: forecast_training.predict(models, rows), batch),
        }
    return result, models


def bench_signal(registry: Any, models: list[Any]) -> dict[str, Any]:
    """One full signal's model time: features on 400 candles, a 24-step forecast, the rule."""
    hourly = load_candles("BTC", "1h")
    candles = Candles(*(getattr(hourly, n)[-400:] for n in ("t", "o", "h", "l", "c", "v")))
    forecaster = Forecaster(registry.models["forecast"])
    calibration = calibration_from(registry.models["signals"].metadata)

    def onnx_signal() -> None:
        path = forecaster.path(candles, "1h", 24)
        decide(path.step(24), float(candles.c[-1]), float(atr(candles.h, candles.l, candles.c)[-1]), calibration)

    def sklearn_signal() -> None:
        features = feature_matrix(candles, 1.0)[-1]
        rows = forecast_inputs(np.repeat(features[None, :], 24, axis=0), np.arange(1, 25, dtype=np.float64))
        forecast_training.predict(models, rows)

    return {
        "onnxruntime": measure(onnx_signal, 1),
        "sklearn": measure(sklearn_signal, 1),
        "features_only": measure(lambda: feature_matrix(candles, 1.0), 1),
    }


def speedups(section: dict[str, Any]) -> dict[str, float]:
    return {
        batch: round(entry["sklearn"]["p50_ms"] / entry["onnxruntime"]["p50_ms"], 2) for batch, entry in section.items()
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# AI inference benchmark",
        "",
        f"Machine: {report['machine']}. One thread for both runtimes. "
        f"Goals: ≥3× faster than the framework at batch 1; a full signal < 5 ms model time; sentiment ≤ 5 ms "
        "per headline.",
        "",
        "| model | batch | onnxruntime p50 / p99 ms | sklearn p50 / p99 ms | ORT items/s | sklearn items/s "
        "| speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("forecast",):
        for batch, entry in report[name].items():
            ort_, skl = entry["onnxruntime"], entry["sklearn"]
            lines.append(
                f"| {name} | {batch.split('_')[1]} | {ort_['p50_ms']:.3f} / {ort_['p99_ms']:.3f} | "
                f"{skl['p50_ms']:.3f} / {skl['p99_ms']:.3f} | {ort_['items_per_s']:.0f} | "
                f"{skl['items_per_s']:.0f} | {report['speedup'][name][batch]:.1f}× |"
            )
    signal = report["signal"]
    lines += sentiment_lines(report["sentiment"])
    lines += [
        "",
        f"Full signal (features on 400 candles + 24-step forecast + rule): onnxruntime p50 "
        f"{signal['onnxruntime']['p50_ms']:.3f} ms, p99 {signal['onnxruntime']['p99_ms']:.3f} ms "
        f"(features alone p50 {signal['features_only']['p50_ms']:.3f} ms); with scikit-learn "
        f"{signal['sklearn']['p50_ms']:.3f} ms.",
        "",
        "Goals: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in report["goals"].items()),
        "",
    ]
    return "\n".join(lines)


def sentiment_lines(section: dict[str, Any]) -> list[str]:
    names = {
        "transformer_onnx_int8": "sentiment (MiniLM int8, shipped; service code incl. tokenisation)",
        "transformer_torch_fp32": "the same model in torch fp32 (training framework)",
        "tfidf_onnx": "sentiment-tfidf (fallback), onnxruntime",
        "tfidf_sklearn": "sentiment-tfidf in scikit-learn",
    }
    lines = [
        "",
        "Headline sentiment, one thread, batch 1 and 64 measured in alternation (same load for both):",
        "",
        "| model | texts | batch 1: p50 / p99 ms | batch 64: p50 ms per call | batch 64: ms per item | items/s at 64 |",
        "|---|---|---|---|---|---|",
    ]
    for texts in ("headlines", "phrasebank_sentences"):
        for key, title in names.items():
            one, many = section[texts][key]["batch_1"], section[texts][key]["batch_64"]
            lines.append(
                f"| {title} | {texts} | {one['p50_ms']:.3f} / {one['p99_ms']:.3f} | {many['p50_ms']:.2f} | "
                f"{many['per_item_p50_ms']:.3f} | {many['items_per_s']:.0f} |"
            )
    sizes = section["bucket_sizes"]
    lines += [
        "",
        f"Texts per ONNX call (the service uses {tokens.BUCKET}, sorted by length; 1 = one call per text), 64 "
        "headlines, ms per item: "
        + ", ".join(f"{name.replace('_', ' ')}: {value:.3f}" for name, value in sizes.items())
        + ". The int8 activations have one scale per token, so the bucket a text lands in does not change its "
        "score (tests/test_onnx_parity.py).",
    ]
    return lines


def main() -> None:
    registry = load_registry()
    if registry.failures:
        raise SystemExit(f"models failed to load: {registry.failures}")
    with threadpool_limits(limits=1):
        sentiment = bench_sentiment(registry)
        forecast, models = bench_forecast(registry)
        signal = bench_signal(registry, models)
    headlines = sentiment["headlines"]
    speedup = {
        "sentiment_transformer_vs_torch": {
            batch: round(
                headlines["transformer_torch_fp32"][batch]["p50_ms"]
                / headlines["transformer_onnx_int8"][batch]["p50_ms"],
                2,
            )
            for batch in ("batch_1", "batch_64")
        },
        "forecast": speedups(forecast),
    }
    report = {
        "machine": (
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, onnxruntime {ort.__version__}, "
            f"load average {os.getloadavg()[0]:.1f} at the end (the machine is shared: other jobs ran too)"
        ),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sentiment": sentiment,
        "forecast": forecast,
        "signal": signal,
        "speedup": speedup,
        "goals": {
            "onnx_3x_faster_at_batch_1_sentiment": speedup["sentiment_transformer_vs_torch"]["batch_1"] >= 3,
            "onnx_3x_faster_at_batch_1_forecast": speedup["forecast"]["batch_1"] >= 3,
            "full_signal_under_5_ms": signal["onnxruntime"]["p50_ms"] < 5,
            "sentiment_at_most_5_ms_per_headline": headlines["transformer_onnx_int8"]["batch_1"]["p50_ms"] <= 5,
            "sentiment_batch_64_faster_per_item_than_batch_1": headlines["transformer_onnx_int8"]["batch_64"][
                "per_item_p50_ms"
            ]
            < headlines["transformer_onnx_int8"]["batch_1"]["per_item_p50_ms"],
        },
    }
    bench_results.write("ai_inference", report, markdown(report))


if __name__ == "__main__":
    main()
