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
    assert body["model"] == "sentiment" and body["model_version"] == "2.1.0"  # the transformer serves
    assert body["sentiment"] == body["label"]
    assert body["confidence"] == max(body["probabilities"].values())


def test_sentiment_batch_results_carry_sentiment_and_confidence(client: TestClient) -> None:
    texts = ["Company cuts 500 jobs as sales slump", "The board meets on Tuesday", "Profit doubles on strong demand"]
    results = client.post("/api/sentiment/analyze", json={"texts": texts}).json()["results"]
    for result in results:
        assert result["sentiment"] == result["label"]
        assert result["confidence"] == max(result["probabilities"].values())
        assert 1 / 3 <= result["confidence"] <= 1


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
        {"symbol": "BTC", "timeframe": "4h", "horizon": 169},
        {"symbol": "BTC", "timeframe": "1d", "horizon": -1},
        {"symbol": "BNB/ETH", "model": "forecast", "horizon": 1857450090266980778772907109122048},  # beyond 64 bits
    ],
)
def test_predict_horizon_outside_the_trained_range_is_400(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/api/ai/predict", json=body)
    assert_error(response, 400, "INVALID_PARAMETER")
    assert response.json()["error"]["details"]["max"] == 168


@pytest.mark.parametrize(("timeframe", "horizon"), [("4h", 168), ("1d", 100)])
def test_predict_serves_long_horizons_at_every_timeframe(client: TestClient, timeframe: str, horizon: int) -> None:
    body = client.post("/api/ai/predict", json={"symbol": "BTC", "timeframe": timeframe, "horizon": horizon}).json()
    assert body["success"] is True and len(body["predictions"]) == horizon


@pytest.mark.parametrize(
    "body",
    [
        {"symbol": "BTC", "horizon": "soon"},
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
    assert signal["direction"] == signal["type"].upper()
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


def test_models_endpoint_serves_each_model_card(client: TestClient) -> None:
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models["sentiment"]["status"] == "loaded" and models["sentiment"]["version"] == "2.1.0"
    assert models["sentiment-tfidf"]["status"] == "standby"
    assert models["forecast"]["trained_on"]["cutoff"] == "2021-12-01"
    assert "1h_h24" in models["forecast"]["evaluation"]["summary"]
    for name in ("sentiment", "sentiment-tfidf", "forecast", "signals"):
        card = models[name]["card"]
        assert card["licences"] and card["data"] and card["figures"] and card["limits"], name
        assert all({"value", "model", "data"} <= set(figure) for figure in card["figures"].values()), name
    assert any("non-commercial" in licence for licence in models["sentiment"]["card"]["licences"])
    phrasebank = models["sentiment"]["card"]["figures"]["macro_f1 on phrasebank_50agree"]
    assert "evaluation only" in phrasebank["data"] and 0 < phrasebank["value"] <= 1
    assert "1d_h168: " in models["forecast"]["card"]["limits"]  # the thinnest figure is named
