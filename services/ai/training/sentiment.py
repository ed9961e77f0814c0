"""Headline sentiment, the fallback model: TF-IDF + logistic regression trained on Twitter Financial News
(MIT), exported with skl2onnx, evaluated on every evaluation set (data.evaluation_sets) beside the
majority-class baseline. It serves only when the transformer (headlines.py) cannot be loaded.

The score in −1…1 is P(positive) − P(negative).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import StringTensorType
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from . import export
from .data import (
    SENTIMENT_LABELS,
    LabelledText,
    evaluation_sets,
    full_score_sets,
    load_crypto_headlines,
    load_twitter,
)

VERSION = "1.0.1"  # 1.0.0 refitted identically; only the graph name is now fixed
GRAPH_NAME = "sentiment_tfidf"
C_GRID = (1.0, 3.0, 10.0)
TOKEN_PATTERN = r"[a-zA-Z0-9_]+"


def build(c: float) -> Pipeline:
    # ASCII word tokens of any length: exactly what the ONNX Tokenizer does, so the n-grams match (sklearn's
    # default pattern drops one-letter tokens, which the converted graph keeps, and bigrams then differ).
    # sublinear_tf stays off: the converted graph does not reproduce it.
    vectorizer = TfidfVectorizer(
        lowercase=True, token_pattern=TOKEN_PATTERN, ngram_range=(1, 2), min_df=2, max_features=30_000
    )
    classifier = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    return Pipeline([("tfidf", vectorizer), ("logreg", classifier)])


def choose_c(train: LabelledText) -> tuple[float, dict[str, float]]:
    """Pick C by macro-F1 on a 15 % slice of the training split (the test split is not looked at)."""
    texts, tune_texts, labels, tune_labels = train_test_split(
        train.texts, train.labels, test_size=0.15, random_state=7, stratify=train.labels
    )
    scores = {
        str(c): float(f1_score(tune_labels, build(c).fit(texts, labels).predict(tune_texts), average="macro"))
        for c in C_GRID
    }
    return float(max(scores, key=lambda key: scores[key])), scores


def to_onnx(pipeline: Pipeline) -> Any:
    model = convert_sklearn(
        pipeline,
        initial_types=[("text", StringTensorType([None, 1]))],
        options={TfidfVectorizer: {"locale": "C"}, LogisticRegression: {"zipmap": False}},
        target_opset=17,
    )
    model.graph.name = GRAPH_NAME  # skl2onnx names the graph with a random UUID: the bytes would differ each run
    return model


def onnx_predict(session: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    labels, probabilities = session.run(None, {"text": np.asarray(texts, dtype=object).reshape(-1, 1)})
    return labels, probabilities


def onnx_labels(session: Any, texts: list[str]) -> list[str]:
    return [str(label) for label in onnx_predict(session, texts)[0]]


def exported_labels(texts: list[str]) -> list[str]:
    """The labels of the TF-IDF model as `train` exported it (its own ONNX file, as the service loads it)."""
    import onnx

    return onnx_labels(export.session(onnx.load(str(export.ARTIFACTS / "sentiment.onnx"))), texts)


def majority(labels: list[str]) -> dict[str, Any]:
    """Always answering the set's own most frequent class (a baseline that knows the answer's prior)."""
    top = max(SENTIMENT_LABELS, key=labels.count)
    return {"class": top, **scores(labels, [top] * len(labels))}


def scores(labels: list[str], predicted: list[str]) -> dict[str, Any]:
    return {
        "n": len(labels),
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
        "confusion": {
            "labels": list(SENTIMENT_LABELS),
            "matrix": confusion_matrix(labels, predicted, labels=list(SENTIMENT_LABELS)).tolist(),
        },
    }


def latency_ms(run: Any, texts: list[str], repeats: int = 300) -> float:
    """Median wall time of one single-text call, in ms."""
    timings = []
    for index in range(repeats):
        start = time.perf_counter()
        run([texts[index % len(texts)]])
        timings.append(time.perf_counter() - start)
    return round(float(np.median(timings)) * 1000, 4)


def parity_reference(pipeline: Pipeline, texts: list[str]) -> dict[str, Any]:
    """scikit-learn's own probabilities for a few texts: the service's tests check the ONNX file against
    them without needing scikit-learn installed."""
    return {"texts": texts, "probabilities": np.round(pipeline.predict_proba(texts), 7).tolist()}


def train() -> dict[str, Any]:
    """Train, evaluate, export; returns the metadata written next to sentiment.onnx."""
    train_set, test_set = load_twitter("train"), load_twitter("valid")
    best_c, tuning = choose_c(train_set)
    pipeline = build(best_c).fit(train_set.texts, train_set.labels)
    model = to_onnx(pipeline)
    session = export.session(model)
    onnx_probabilities = onnx_predict(session, test_set.texts)[1]
    evaluation: dict[str, Any] = {
        name: {
            "n": len(data.texts),
            "model": scores(data.labels, onnx_labels(session, data.texts)),
            "majority_class": majority(data.labels),
        }
        for name, data in {**evaluation_sets(), **full_score_sets()}.items()
    }
    evaluation["onnx_vs_sklearn_max_abs_probability_diff"] = float(
        np.max(np.abs(onnx_probabilities - pipeline.predict_proba(test_set.texts)))
    )
    evaluation["latency_ms_per_text_batch1"] = {
        "onnxruntime": latency_ms(lambda texts: onnx_predict(session, texts), test_set.texts),
        "sklearn": latency_ms(pipeline.predict_proba, test_set.texts),
    }
    crypto = load_crypto_headlines()
    metadata = {
        "name": "sentiment",
        "kind": "text-classification",
        "version": VERSION,
        "algorithm": f"TF-IDF (ASCII word 1-2 grams) + logistic regression (C={best_c}, balanced)",
        "classes": [str(label) for label in pipeline.classes_],
        "score": "P(positive) - P(negative), in -1..1",
        "graph_name": GRAPH_NAME,
        "trained_on": {
            "dataset": "Twitter Financial News Sentiment (train split)",
            "licence": "MIT",
            "rows": len(train_set.texts),
            "range": ["undated", "undated"],
            "note": "finance tweets; the rows carry no dates",
        },
        "tuning": {"c_grid_macro_f1_on_15pct_of_train": tuning, "chosen_c": best_c},
        "evaluation": evaluation,
        "parity_reference": parity_reference(pipeline, list(dict.fromkeys(crypto.texts))[:12] + test_set.texts[:12]),
        "limits": "general financial tweets, not crypto news; worse than the majority class on SemEval headlines "
        "and FiQA posts; sarcasm, negation beyond bigrams and new names are weak",
    }
    export.save(model, "sentiment", metadata)
    return metadata
