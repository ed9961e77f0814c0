"""Sentiment through the real gateway: the Fear & Greed reading with computed components, catch-up from
JetStream after a restart, stale-if-error. (Per-symbol sentiment and unknown symbols: tests/smoke.)"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from harness import Suite, wait_for
from suite_shared.bus import Bus
from suite_shared.envelope import now_ms
from suite_shared.messages.news import ScoredArticle
from suite_shared.topics import NEWS_SCORED

COMPONENTS = {"volatility", "market_momentum", "social_media", "surveys", "dominance", "trends"}


def test_global_reading_is_alternative_me_with_components_from_real_data(suite: Suite, gateway: httpx.Client) -> None:
    def ready() -> dict[str, Any] | None:
        body = gateway.get("/api/sentiment/global").json()
        return body if body.get("success") and body["components"]["social_media"] is not None else None

    body = wait_for(ready)
    upstream = httpx.get(f"{suite.sandbox_url}/alternative-me/fng/", params={"limit": 1}).json()["data"][0]
    assert body["fearGreedIndex"] == body["fear_greed_index"] == int(upstream["value"])
    assert body["value_classification"] == upstream["value_classification"]
    # The index's own words: Alternative.me's "Extreme Fear" is the contract's extreme_fear.
    assert body["sentiment"] == upstream["value_classification"].lower().replace(" ", "_")
    assert body["last_updated"].endswith("Z") and body["meta"]["source"] == "alternative_me"
    components = body["components"]
    assert set(components) == COMPONENTS
    assert components["surveys"] is None and components["trends"] is None
    for name in ("volatility", "market_momentum", "dominance", "social_media"):
        assert 0 <= components[name] <= 100, name
    # Dominance is computed from the market service's real figure.
    btc = gateway.get("/api/stats/dominance").json()["dominance"]["BTC"]
    assert components["dominance"] == pytest.approx(100 - btc, abs=0.2)
    assert "Alternative.me" in body["description"] and "not social networks" in body["description"]


def test_global_reading_served_stale_when_alternative_me_fails(sandbox: Suite, gateway: httpx.Client) -> None:
    assert gateway.get("/api/sentiment/global").status_code == 200
    sandbox.set_fault("alternative-me", "status", status=503)
    time.sleep(2.5)  # CACHE_TTL_SENTIMENT=2 in the tests: the cached reading is no longer fresh
    body = gateway.get("/api/sentiment/global").json()
    assert body["success"] is True and body["meta"]["stale"] is True and body["meta"]["cache"] == "stale"


async def test_sentiment_catches_up_from_jetstream_after_a_restart(suite: Suite) -> None:
    """Articles scored while sentiment is down are in its aggregates once it is back (durable consumer)."""
    url = f"{suite.env.values['SENTIMENT_URL']}/api/sentiment/symbol/ALGO"
    async with httpx.AsyncClient() as client:
        before = (await client.get(url)).json()["social_volume"]
    await asyncio.to_thread(suite.stop, "sentiment")
    bus = Bus(suite.env.values["NATS_URL"], "sentiment-test")
    bus.start()
    assert await bus.wait_connected(5)
    now = now_ms()
    for index in range(3):  # synthetic events (test data), as the news service publishes them
        event = ScoredArticle(
            id=f"test-{uuid.uuid4().hex[:12]}",
            title=f"Algorand test headline {index}",
            url=f"https://example.test/{index}",
            source="test",
            published_at=None,
            related_symbols=["ALGO"],
            sentiment="positive",
            sentiment_score=0.8,
            published_ms=now - index * 1000,
            ingested_at=now,
            scored_at=now,
        )
        await bus.publish_js(NEWS_SCORED, event, msg_id=f"test:{event.id}")
    await bus.close()
    await asyncio.to_thread(suite.start, ["sentiment"])
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + 20
        while True:
            body = (await client.get(url)).json()
            if body["social_volume"] == before + 3 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
    assert body["social_volume"] == before + 3
    assert body["sentiment_score"] == pytest.approx(0.8) and body["sentiment"] == "positive"
