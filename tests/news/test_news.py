"""News through the real gateway: sandbox sources polled, stories de-duplicated and scored by the ai model
over NATS; ai down and back up; one source failing while the others keep going. (Bad parameters: tests/smoke.)"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import redis

from harness import Suite, free_port, wait_for

CONTRACT_FIELDS = {
    "id",
    "title",
    "url",
    "source",
    "published_at",
    "sentiment",
    "sentiment_score",
    "summary",
    "image_url",
    "tags",
    "related_symbols",
}


def scored_page(gateway: httpx.Client, **params: Any) -> dict[str, Any] | None:
    body = gateway.get("/api/news/latest", params={"limit": 100, **params}).json()
    news = body.get("news") or []
    return body if news and all(item["sentiment"] is not None for item in news) else None


def test_latest_news_is_aggregated_deduplicated_and_scored_by_the_model(suite: Suite, gateway: httpx.Client) -> None:
    body = wait_for(lambda: scored_page(gateway))
    assert body["success"] is True and body["meta"]["source"] == "news-aggregate"
    assert set(body["meta"]["sources_tried"]) == {"coindesk", "cointelegraph", "decrypt", "cryptopanic", "newsapi"}
    news = body["news"]
    assert body["total"] >= len(news) > 20
    for item in news:
        assert set(item) == CONTRACT_FIELDS
        assert item["sentiment"] in ("positive", "neutral", "negative") and -1 <= item["sentiment_score"] <= 1
        assert item["published_at"].endswith("Z")
        assert isinstance(item["summary"], str)  # never null: empty when the source has no description
    times = [item["published_at"] for item in news]
    assert times == sorted(times, reverse=True)
    assert len({item["id"] for item in news}) == len(news)
    # De-duplicated: no two stories share a URL without its tracking parameters, or a title.
    assert len({item["url"].split("?")[0].rstrip("/") for item in news}) == len(news)
    assert len({item["title"].lower() for item in news}) == len(news)
    # The sandbox planted the same stories in several feeds: some stored stories name several sources.
    client = redis.Redis.from_url(suite.env.values["REDIS_URL"])
    stored = [client.get(f"news:a:{item['id']}") for item in news]
    assert any(b'"sources":["' in raw and raw.count(b'","') >= 1 for raw in stored if raw)
    # The model's scores, not invented ones: the ai service scores the same headline the same way.
    sample = news[0]
    scored = gateway.post("/api/sentiment/analyze", json={"text": sample["title"]}).json()
    assert scored["label"] == sample["sentiment"] and scored["score"] == pytest.approx(
        sample["sentiment_score"], abs=1e-3
    )


def test_filters_and_limit(gateway: httpx.Client) -> None:
    wait_for(lambda: scored_page(gateway))
    everything = gateway.get("/api/news/latest", params={"limit": 100}).json()
    three = gateway.get("/api/news/latest", params={"limit": 3}).json()
    assert len(three["news"]) == 3 and three["total"] == everything["total"]
    assert [item["id"] for item in three["news"]] == [item["id"] for item in everything["news"][:3]]
    bitcoin = gateway.get("/api/news/latest", params={"category": "bitcoin", "limit": 100}).json()
    assert 0 < bitcoin["total"] < everything["total"]
    assert all("bitcoin" in item["tags"] for item in bitcoin["news"])
    by_label = {
        label: gateway.get("/api/news/latest", params={"sentiment": label, "limit": 100}).json()
        for label in ("positive", "neutral", "negative")
    }
    for label, body in by_label.items():
        assert all(item["sentiment"] == label for item in body["news"])
    assert sum(body["total"] for body in by_label.values()) == everything["total"]
    assert gateway.get("/api/news/latest", params={"language": "de"}).json()["total"] == 0


def test_as_of_returns_only_what_was_known_then(gateway: httpx.Client) -> None:
    wait_for(lambda: scored_page(gateway))
    now = gateway.get("/api/news/latest", params={"limit": 100, "as_of": int(time.time() * 1000)}).json()
    assert now["total"] > 0 and now["meta"]["as_of"] is not None
    before = gateway.get("/api/news/latest", params={"as_of": 1_000_000_000_000}).json()  # 2001
    assert before["total"] == 0 and before["news"] == []


def private_news(suite: Suite, alias: str, db: int) -> tuple[str, redis.Redis]:
    """A news replica with its own Redis database: its own store, queue and poll schedule. It shares the
    suite's NEWS stream, so its store is marked current (the epoch key) lest it be rebuilt from the suite's
    scored stories."""
    port = free_port()
    url = suite.env.values["REDIS_URL"].rsplit("/", 1)[0] + f"/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.set("news:epoch", 1)
    suite.spawn(alias, "news", f"http://127.0.0.1:{port}/health/live", NEWS_PORT=str(port), REDIS_URL=url)
    return f"http://127.0.0.1:{port}", client


def test_ai_down_articles_are_kept_unscored_then_scored_when_it_returns(suite: Suite) -> None:
    suite.stop("ai")
    try:
        base, client = private_news(suite, "news-no-ai", 5)
        stored = wait_for(lambda: client.zcard("news:time") > 20 and client.zcard("news:time"))
        time.sleep(2)  # a few scoring rounds fail meanwhile
        body = httpx.get(f"{base}/api/news/latest", params={"limit": 100}).json()
        assert body["news"] and all(
            item["sentiment"] is None and item["sentiment_score"] is None for item in body["news"]
        )
        assert client.zcard("news:unscored") == client.zcard("news:time")
        health = httpx.get(f"{base}/health").json()
        assert health["dependencies"]["sources"]["detail"]["scoring"].startswith("ai did not answer")
    finally:
        suite.start(["ai"])
    wait_for(lambda: client.zcard("news:unscored") == 0, timeout_s=30)
    body = httpx.get(f"{base}/api/news/latest", params={"limit": 100}).json()
    assert client.zcard("news:time") >= stored  # none lost
    assert all(item["sentiment"] in ("positive", "neutral", "negative") for item in body["news"])
    suite.stop("news-no-ai")


def test_a_failing_source_does_not_stop_the_others(sandbox: Suite) -> None:
    sandbox.set_fault("rss", "status", status=503, path_contains="cointelegraph")
    base, client = private_news(sandbox, "news-one-down", 6)
    try:

        def report() -> dict[str, Any] | None:
            sources = httpx.get(f"{base}/health").json()["dependencies"]["sources"]["detail"]["sources"]
            ready = sources["cointelegraph"]["errors"] and all(
                sources[name]["last_success_ms"] for name in ("coindesk", "decrypt", "cryptopanic", "newsapi")
            )
            return sources if ready else None

        sources = wait_for(report)
        assert sources["cointelegraph"]["last_success_ms"] is None
        assert "UpstreamServerError" in sources["cointelegraph"]["last_error"]
        body = httpx.get(f"{base}/api/news/latest", params={"limit": 100}).json()
        assert body["total"] > 0
        # (a publisher name can still read "Cointelegraph": NewsAPI and CryptoPanic carry its stories too)
        stored = [client.get(f"news:a:{item['id']}") for item in body["news"]]
        assert stored and all(b'"cointelegraph"' not in raw for raw in stored if raw)
        assert any(b'"coindesk"' in raw for raw in stored if raw)
    finally:
        sandbox.stop("news-one-down")
