"""The shipped ONNX files reproduce the scikit-learn models they were exported from.

Training stores scikit-learn's own outputs for a few inputs in each model's metadata (`parity_reference`),
so this runs without scikit-learn installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_service.registry import load_registry
from ai_service.sentiment import SentimentModel


@pytest.fixture(scope="module")
def registry():  # type: ignore[no-untyped-def]
    loaded = load_registry()
    assert not loaded.failures
    return loaded


def test_sentiment_onnx_matches_sklearn_probabilities(registry) -> None:  # type: ignore[no-untyped-def]
    model = registry.models["sentiment"]
    reference = model.metadata["parity_reference"]
    scores = SentimentModel(model).score(reference["texts"])
    onnx_probabilities = np.asarray([[s.probabilities[c] for c in model.metadata["classes"]] for s in scores])
    np.testing.assert_allclose(onnx_probabilities, reference["probabilities"], atol=1e-3)  # scores are rounded to 4 dp
    raw = model.session.run(None, {"text": np.asarray(reference["texts"], dtype=object).reshape(-1, 1)})[1]
    np.testing.assert_allclose(raw, reference["probabilities"], atol=1e-5)


def test_forecast_onnx_matches_sklearn_quantiles(registry) -> None:  # type: ignore[no-untyped-def]
    model = registry.models["forecast"]
    reference = model.metadata["parity_reference"]
    features = np.asarray(reference["features"], dtype=np.float32)
    quantiles = model.session.run(None, {"features": features})[0]
    np.testing.assert_allclose(quantiles, reference["quantiles"], atol=1e-4)


def test_shipped_models_are_small_and_carry_their_provenance(registry) -> None:  # type: ignore[no-untyped-def]
    for name in ("sentiment", "forecast"):
        metadata = registry.models[name].metadata
        assert metadata["file_bytes"] < 5_000_000
        assert metadata["version"] and metadata["trained_on"] and metadata["evaluation"]
    assert registry.models["forecast"].metadata["trained_on"]["range"][1] == "2022-10-11"
