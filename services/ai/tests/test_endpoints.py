"""The HTTP endpoints against recorded candles: contract shapes, validation and error envelopes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The contract's error envelope with this status and code (never FastAPI's {"detail": ...})."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    assert "detail" not in body


def test_sentiment_single_text_has_label_score_and_probabilities(client: TestClient) -> None:
    body = client.post("/api/sentiment/analyze", json={"text": "Bitcoin rallies to a record high"}).json()
    assert body["success"] is True and "meta" in body
    assert body["label"] == "positive" and 0 < body["score"] <= 1
    assert set(body["probabilities"]) == {"negative", "neutral", "positive"}
    assert body["model"] == "sentiment" and body["model_version"]


def test_sentiment_batch_keeps_request_order(client: TestClient) -> None:
    texts = ["Shares plunge after company cuts guidance and misses estimates", "Shares jump after earnings beat"]
    results = client.post("/api/sentiment/analyze", json={"texts": texts}).json()["results"]
    assert [r["label"] for r in results] == ["negative", "positive"]
    assert results[0]["score"] < 0 < results[1]["score"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   "},
        {"texts": []},
        {"text": "x" * 2001},
        {"texts": ["ok"] * 65},
        {},
        {"text": "a", "texts": ["b"]},
    ],
)
def test_sentiment_rejects_empty_too_long_or_too_many_texts(client: TestClient, body: dict[str, Any]) -> None:
    assert_error(client.post("/api/sentiment/analyze", json=body), 422, "VALIDATION_ERROR")


def test_predict_returns_horizon_points_with_intervals(client: TestClient) -> None:
    body = client.post("/api/ai/predict", json={"symbol": "btcusdt", "horizon": 48}).json()
    assert body["success"] is True and body["symbol"] == "BTC/USDT"
    assert len(body["predictions"]) == 48
    assert body["model"] == "forecast" and body["model_version"]
    assert body["direction"] in {"bullish", "bearish", "neutral"}
    steps = [p["timestamp"] for p in body["predictions"]]
    assert steps == sorted(steps) and steps[1] - steps[0] == 3_600_000
    for point in body["predictions"]:
        assert point["lower_bound"] <= point["price"] <= point["upper_bound"]
        assert 0 < point["confidence"] <= 1
    widths = [p["upper_bound"] - p["lower_bound"] for p in body["predictions"]]
    assert widths[-1] > widths[0]


@pytest.mark.parametrize(
    "body",
    [
        {"symbol": "BTC", "horizon": 0},
        {"symbol": "BTC", "horizon": 169},
        {"symbol": "BTC", "timeframe": "5m"},
        {"horizon": 24},
        {"symbol": ""},
    ],
)
def test_predict_rejects_bad_bodies(client: TestClient, body: dict[str, Any]) -> None:
    assert_error(client.post("/api/ai/predict", json=body), 422, "VALIDATION_ERROR")


def test_unknown_symbol_is_404_invalid_symbol(client: TestClient) -> None:
    assert_error(client.post("/api/ai/predict", json={"symbol": "NOPECOIN"}), 404, "INVALID_SYMBOL")
    assert_error(client.get("/api/ai/signals", params={"symbol": "NOPECOIN"}), 404, "INVALID_SYMBOL")
    assert_error(client.get("/api/ai/analysis/B$C"), 404, "INVALID_SYMBOL")


def test_market_unreachable_is_503(client: TestClient, market: Any) -> None:
    market.down = True
    assert_error(client.post("/api/ai/predict", json={"symbol": "BTC"}), 503, "UPSTREAM_UNAVAILABLE")
    assert_error(client.get("/api/ai/signals", params={"symbol": "ETH"}), 503, "UPSTREAM_UNAVAILABLE")


def test_signal_prices_and_risk_reward_agree(client: TestClient) -> None:
    body = client.get("/api/ai/signals", params={"symbol": "BTC/USDT", "timeframe": "1h"}).json()
    assert body["success"] is True
    (signal,) = body["signals"]
    assert signal["type"] in {"buy", "sell", "hold"} and 0 <= signal["confidence"] <= 1 and 0 <= signal["score"] <= 10
    reward = abs(signal["target_price"] - signal["entry_price"])
    risk = abs(signal["entry_price"] - signal["stop_loss"])
    assert signal["risk_reward"] == pytest.approx(reward / risk, rel=1e-3)
    assert signal["model"] == "forecast" and signal["model_version"]
    assert any("Forecast over 24 x 1h" in line for line in signal["reasoning"])
    assert signal["expires_at"] > signal["timestamp"]
    assert {"rsi", "macd", "volume_profile"} <= set(signal["indicators"])


def test_signals_filter_by_min_confidence_and_limit(client: TestClient) -> None:
    everything = client.get("/api/ai/signals", params={"timeframe": "4h"}).json()["signals"]
    assert {s["symbol"] for s in everything} == {"BTC/USDT", "ETH/USDT"}  # the fake market knows two pairs
    assert client.get("/api/ai/signals", params={"timeframe": "4h", "min_confidence": 1}).json()["signals"] == []
    assert len(client.get("/api/ai/signals", params={"timeframe": "4h", "limit": 1}).json()["signals"]) == 1


@pytest.mark.parametrize("params", [{"min_confidence": 2}, {"limit": 0}, {"limit": 101}, {"timeframe": "2h"}])
def test_signals_reject_bad_query_parameters(client: TestClient, params: dict[str, Any]) -> None:
    assert_error(client.get("/api/ai/signals", params=params), 400, "INVALID_PARAMETER")


def test_analysis_levels_bracket_the_price(client: TestClient) -> None:
    body = client.get("/api/ai/analysis/BTC-USDT").json()
    assert body["success"] is True and body["symbol"] == "BTC/USDT"
    analysis = body["analysis"]
    technical = analysis["technical"]
    price = analysis["technical"]["key_indicators"]["moving_averages"]
    assert technical["trend"] in {"bullish", "bearish", "sideways"} and price
    last = client.post("/api/ai/predict", json={"symbol": "BTC", "timeframe": "1d", "horizon": 1}).json()[
        "current_price"
    ]
    assert all(level["price"] < last for level in technical["support_levels"])
    assert all(level["price"] > last for level in technical["resistance_levels"])
    assert analysis["fundamental"] is None and analysis["sentiment"] is None  # neighbours unreachable here
    assert any("fundamental" in note for note in analysis["notes"])
    assert set(analysis["prediction"]) >= {"short_term", "medium_term", "long_term", "confidence"}


def test_models_endpoint_reports_versions_ranges_and_figures(client: TestClient) -> None:
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models["forecast"]["trained_range"] == ["2017-08-25", "2022-10-11"]
    assert "1h_h24" in models["forecast"]["evaluation"]["summary"]
    assert models["sentiment"]["evaluation"]["held_out_twitter_valid"]["macro_f1"] > 0.7
    assert models["signals"]["evaluation"]["backtest"]["1h"]["signals"] >= 0
