"""The transformer headline model falls back to the TF-IDF model when its files are missing or corrupt:
the service keeps answering, health says which model serves and why (no exception text), /api/models lists
the TF-IDF model as the fallback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ai_service.registry import load_registry


def test_tfidf_serves_when_the_transformer_cannot_load(fallback_client: tuple[TestClient, str]) -> None:
    client, _ = fallback_client
    body = client.post("/api/sentiment/analyze", json={"text": "Shares jump after earnings beat"}).json()
    assert body["success"] is True and body["label"] == "positive"
    assert body["model"] == "sentiment" and body["model_version"].startswith("1.")  # the TF-IDF model's version
    assert body["confidence"] == max(body["probabilities"].values())


def test_health_says_the_fallback_serves_without_exception_text(fallback_client: tuple[TestClient, str]) -> None:
    client, reason = fallback_client
    response = client.get("/health")
    assert response.status_code == 200  # still serving: not taken out of rotation
    body = response.json()
    assert body["status"] == "degraded"
    assert body["dependencies"]["models"]["status"] == "up"
    check = body["dependencies"]["sentiment_model"]
    assert check["status"] == "down" and check["critical"] is False  # working, on the weaker model
    detail = check["detail"]
    assert detail["fallback"] == f"TF-IDF serves (transformer: {reason})"
    assert "TF-IDF" in detail["serving"]
    text = response.text
    assert "Error" not in text and "Traceback" not in text and "INVALID_PROTOBUF" not in text


def test_models_lists_the_tfidf_model_as_fallback(fallback_client: tuple[TestClient, str]) -> None:
    client, reason = fallback_client
    models = {m["name"]: m for m in client.get("/api/models").json()["models"]}
    assert models["sentiment"]["status"] == "fallback" and reason in models["sentiment"]["reason"]
    assert models["sentiment"]["card"]["model"].startswith("sentiment-tfidf")
    assert "sentiment-tfidf" not in models  # nothing stands by: it serves


def test_health_says_the_transformer_serves_when_it_loads(client: TestClient) -> None:
    check = client.get("/health").json()["dependencies"]["sentiment_model"]
    assert check["status"] == "up" and "MiniLM" in check["detail"]["serving"] and "fallback" not in check["detail"]


def test_registry_with_every_file_loads_the_transformer_and_keeps_tfidf_on_standby() -> None:
    registry = load_registry()
    assert not registry.failures and not registry.fallbacks
    assert registry.models["sentiment"].tokenizer is not None
    assert registry.standby["sentiment-tfidf"].tokenizer is None
