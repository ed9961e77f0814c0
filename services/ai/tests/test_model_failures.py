"""A missing or corrupt model makes the replica unhealthy and its endpoints 503, never a crash."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_corrupt_or_missing_model_makes_health_unhealthy(broken_client: TestClient) -> None:
    response = broken_client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["dependencies"]["models"]["critical"] is True
    assert "forecast" in str(body["dependencies"]["models"]["detail"])


def test_model_endpoints_answer_503_when_their_model_is_unavailable(broken_client: TestClient) -> None:
    cases = [
        ("post", "/api/ai/predict", {"symbol": "BTC"}),
        ("post", "/api/sentiment/analyze", {"text": "up"}),
        ("get", "/api/ai/signals?symbol=BTC", None),
        ("get", "/api/ai/analysis/BTC", None),
    ]
    for method, path, body in cases:
        response = broken_client.request(method.upper(), path, json=body)
        assert response.status_code == 503, path
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert response.json()["success"] is False


def test_models_endpoint_lists_the_unavailable_models(broken_client: TestClient) -> None:
    models = {m["name"]: m for m in broken_client.get("/api/models").json()["models"]}
    assert models["forecast"]["status"] == "unavailable"
    assert models["sentiment"]["status"] == "unavailable"
    assert models["signals"]["status"] == "loaded"
