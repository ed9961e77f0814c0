"""Headline sentiment from the TF-IDF + logistic-regression ONNX model: label, score and probabilities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite_shared.metrics import MODEL_BATCH_ROWS, MODEL_INFERENCE

from .registry import LoadedModel


@dataclass(frozen=True)
class SentimentScore:
    label: str
    score: float  # P(positive) - P(negative), -1..1
    probabilities: dict[str, float]


class SentimentModel:
    """Scores a batch of texts in one ONNX call (the graph takes a (n, 1) string tensor)."""

    def __init__(self, model: LoadedModel) -> None:
        assert model.session is not None
        self.session = model.session
        self.classes: list[str] = list(model.metadata["classes"])
        self.name = model.name
        self.version: str = model.metadata["version"]

    def score(self, texts: list[str]) -> list[SentimentScore]:
        batch = np.asarray(texts, dtype=object).reshape(-1, 1)
        with MODEL_INFERENCE.labels(self.name).time():
            _, probabilities = self.session.run(None, {"text": batch})
        MODEL_BATCH_ROWS.labels(self.name).observe(len(texts))
        return [self._one(row) for row in probabilities]

    def _one(self, row: np.ndarray) -> SentimentScore:
        by_class = {label: round(float(value), 4) for label, value in zip(self.classes, row, strict=True)}
        label = self.classes[int(np.argmax(row))]
        return SentimentScore(
            label=label,
            probabilities=by_class,
            score=round(by_class.get("positive", 0.0) - by_class.get("negative", 0.0), 4),
        )
