"""Features and indicators: causal (no look-ahead), finite after warm-up, volatility-normalised."""

from __future__ import annotations

import numpy as np

from ai_service.features import FEATURE_NAMES, Candles, feature_matrix
from ai_service.indicators import WARMUP, atr, rsi


def perturbed_after(candles: Candles, cut: int, seed: int = 1) -> Candles:
    """The same candles up to `cut`, then wildly different ones."""
    rng = np.random.default_rng(seed)
    factor = np.ones(len(candles))
    factor[cut:] = rng.uniform(0.3, 3.0, len(candles) - cut)
    later = factor != 1
    return Candles(
        candles.t,
        candles.o * factor,
        candles.h * factor * np.where(later, 1.1, 1.0),
        candles.l * factor * np.where(later, 0.9, 1.0),
        candles.c * factor,
        candles.v * np.where(later, rng.uniform(0.1, 10, len(candles)), 1.0),
    )


def test_features_at_t_do_not_change_when_later_candles_change(btc_hourly: Candles) -> None:
    candles = btc_hourly.head(1200)
    for cut in (WARMUP + 5, 700, 1100):
        original = feature_matrix(candles, 1.0)
        changed = feature_matrix(perturbed_after(candles, cut), 1.0)
        np.testing.assert_array_equal(original[:cut], changed[:cut])
        assert not np.allclose(original[cut:], changed[cut:], equal_nan=True)


def test_features_on_a_prefix_equal_features_on_the_whole_series(btc_hourly: Candles) -> None:
    whole = feature_matrix(btc_hourly.head(2000), 1.0)
    prefix = feature_matrix(btc_hourly.head(900), 1.0)
    np.testing.assert_array_equal(whole[:900], prefix)


def test_feature_rows_are_nan_during_warm_up_and_finite_after(btc_hourly: Candles) -> None:
    matrix = feature_matrix(btc_hourly.head(600), 1.0)
    assert matrix.shape == (600, len(FEATURE_NAMES))
    assert np.isnan(matrix[:WARMUP]).all()
    assert np.isfinite(matrix[WARMUP:]).all()


def test_features_do_not_depend_on_the_price_scale(btc_hourly: Candles) -> None:
    candles = btc_hourly.head(700)
    scaled = Candles(candles.t, candles.o * 1000, candles.h * 1000, candles.l * 1000, candles.c * 1000, candles.v)
    np.testing.assert_allclose(
        feature_matrix(candles, 1.0)[WARMUP:], feature_matrix(scaled, 1.0)[WARMUP:], rtol=1e-6, atol=1e-8
    )


def test_rsi_is_bounded_and_atr_positive(btc_hourly: Candles) -> None:
    candles = btc_hourly.head(500)
    values = rsi(candles.c)
    assert ((values >= 0) & (values <= 100)).all()
    assert (atr(candles.h, candles.l, candles.c)[1:] > 0).all()
