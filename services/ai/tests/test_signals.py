"""The signal rule: direction from the forecast, ATR-based levels, calibrated confidence."""

from __future__ import annotations

import inspect
import itertools
import json

import pytest

from ai_service.registry import ARTIFACTS
from ai_service.signals import FEE_PER_SIDE, STOP_ATR, Calibration, Forecast, decide, strength_score

CALIBRATION = Calibration(
    edges=(0.0, 0.1, 0.2, 99.0),
    trade_win_rate=(0.45, 0.5, 0.6),
    hold_right_rate=(0.55, 0.5, 0.4),
    counts=(10, 10, 10),
    z_threshold=0.2,
)


def forecast(z50: float, scale: float = 0.05) -> Forecast:
    return Forecast(z10=z50 - 1.3, z50=z50, z90=z50 + 1.3, scale=scale, horizon=24)


@pytest.mark.parametrize(("z50", "kind"), [(0.5, "buy"), (-0.5, "sell"), (0.1, "hold"), (-0.19, "hold")])
def test_direction_follows_the_median_beyond_the_threshold(z50: float, kind: str) -> None:
    assert decide(forecast(z50), entry=100.0, atr=1.0, calibration=CALIBRATION).type == kind


def test_a_move_that_does_not_pay_the_fees_is_a_hold() -> None:
    tiny = forecast(0.5, scale=2 * FEE_PER_SIDE / 0.6)
    assert decide(tiny, entry=100.0, atr=1.0, calibration=CALIBRATION).type == "hold"


def test_buy_levels_sit_on_either_side_and_risk_reward_is_computed_from_them() -> None:
    decision = decide(forecast(0.5), entry=100.0, atr=2.0, calibration=CALIBRATION)
    assert decision.stop == pytest.approx(100.0 - STOP_ATR * 2.0)
    assert 100.0 + 2.0 <= decision.target <= 100.0 + 4 * 2.0
    assert decision.risk_reward == pytest.approx((decision.target - 100.0) / (100.0 - decision.stop), rel=1e-3)


def test_sell_levels_are_mirrored() -> None:
    decision = decide(forecast(-0.5), entry=100.0, atr=2.0, calibration=CALIBRATION)
    assert decision.target < 100.0 < decision.stop


def test_confidence_comes_from_the_calibration_table() -> None:
    assert decide(forecast(0.5), 100.0, 1.0, CALIBRATION).confidence == 0.6
    assert decide(forecast(0.05), 100.0, 1.0, CALIBRATION).confidence == 0.55  # hold: rate a trade would lose


def test_shipped_calibration_is_monotone_with_no_empty_bin_and_non_overlapping_windows() -> None:
    metadata = json.loads((ARTIFACTS / "signals.json").read_text())
    table = metadata["calibration"]
    rates, counts = table["trade_win_rate"], table["counts"]
    assert len(rates) == len(counts) == len(table["edges"]) - 1
    assert all(count > 0 for count in counts)
    assert all(a <= b for a, b in itertools.pairwise(rates))  # stronger signals, no lower confidence
    assert all(round(1 - r, 4) == h for r, h in zip(rates, table["hold_right_rate"], strict=True))
    assert sum(counts) == table["windows"]
    assert "non-overlapping" in table["windows_rule"]
    assert table["period"].startswith(metadata["uses_model"]["cutoff"])  # calibrated after the model's cut-off


def test_shipped_calibration_is_checked_on_unseen_data_against_both_baselines() -> None:
    metadata = json.loads((ARTIFACTS / "signals.json").read_text())
    checks = metadata["calibration_check"]
    assert set(checks) == {"later_period", "ada_hourly"}
    assert "cluster-robust over 7-day blocks" in metadata["calibration"]["interval_rule"]
    for check in checks.values():
        pooled = check["all"]
        assert sum(row["n"] for row in pooled["reliability"]) == pooled["windows"] > 0
        # concurrent pairs share a cluster, so there are fewer clusters than windows (but enough for a t interval)
        assert 2 <= pooled["buy_and_hold_per_window"]["clusters"] < pooled["windows"]
        for row in pooled["reliability"]:
            low, high = row["realised_ci95"]
            assert low <= row["realised_trade_win_rate"] <= high
            assert row["stated_inside_ci95"] == (low <= row["stated_trade_win_rate"] <= high)
        assert pooled["always_hold_per_window"]["mean_pct"] == 0.0
        low, high = pooled["buy_and_hold_per_window"]["ci95_pct"]
        assert low <= pooled["buy_and_hold_per_window"]["mean_pct"] <= high


def test_news_sentiment_is_not_part_of_the_rule() -> None:
    assert "sentiment" not in inspect.signature(decide).parameters


def test_score_is_five_when_neutral_and_bounded() -> None:
    assert strength_score(0.0) == 5.0
    assert 0 <= strength_score(-10) < strength_score(10) <= 10
