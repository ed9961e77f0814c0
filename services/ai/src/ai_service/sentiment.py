"""Headline sentiment: label, score, confidence and probabilities, from whichever model the registry serves.

The transformer (fine-tuned MiniLM, int8 ONNX) takes token ids: texts are tokenised by the `tokenizers`
package with the exact configuration training used (truncation at 64 tokens), the batch at once, then run
in buckets of similar length (tokens.run_bucketed, the same code training evaluated; why a text's score does
not depend on its bucket is explained there). The TF-IDF fallback's graph takes the raw strings as a (n, 1) tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite_shared.metrics import MODEL_BATCH_ROWS, MODEL_INFERENCE

from .registry import LoadedModel
from .tokens import run_bucketed


@dataclass(frozen=True)
class SentimentScore:
    label: str
    score: float  # P(positive) - P(negative), -1..1
    confidence: float  # the winning class's probability
    probabilities: dict[str, float]


class SentimentModel:
    """Scores a batch of texts with the serving sentiment model (transformer or TF-IDF)."""

    def __init__(self, model: LoadedModel) -> None:
        assert model.session is not None
        self.session = model.session
        self.tokenizer = model.tokenizer
        self.classes: list[str] = list(model.metadata["classes"])
        self.name = model.name
        self.version: str = model.metadata["version"]

    def score(self, texts: list[str]) -> list[SentimentScore]:
        with MODEL_INFERENCE.labels(self.name).time():
            probabilities = self.probabilities(texts)
        MODEL_BATCH_ROWS.labels(self.name).observe(len(texts))
        return [self._one(row) for row in probabilities]

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(n, len(classes)) class probabilities, rows in the order of `texts`."""
        if self.tokenizer is None:
            return np.asarray(self.session.run(None, {"text": np.asarray(texts, dtype=object).reshape(-1, 1)})[1])
        encodings = [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]
        return run_bucketed(encodings, self._run)

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])

    def _one(self, row: np.ndarray) -> SentimentScore:
        by_class = {label: round(float(value), 4) for label, value in zip(self.classes, row, strict=True)}
        winner = int(np.argmax(row))
        return SentimentScore(
            label=self.classes[winner],
            probabilities=by_class,
            confidence=round(float(row[winner]), 4),
            score=round(by_class.get("positive", 0.0) - by_class.get("negative", 0.0), 4),
        )
