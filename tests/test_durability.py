"""Durability against real processes: a flushed state Redis loses no news and no sentiment.

A private NATS, state Redis and cache Redis carry a private ai, news and sentiment service (the suite's
sandbox stays the upstream). Once the news is in and scored, every news source starts failing (so nothing
can come back by being polled again) and the state Redis is flushed — as an operator's FLUSHALL or a
Redis that came back empty would. Within a minute the news store and the sentiment aggregates are rebuilt
from the NEWS stream: every story with its score, the same per-asset counts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from harness import Suite, free_port, wait_for

REBUILD_BOUND_S = 60


@dataclass
class Private:
    news: str
    sentiment: str
    state: redis.Redis


@pytest.fixture(scope="module")
def private(suite: Suite) -> Iterator[Private]:
    nats_port = free_port()
    run_dir = suite.run_dir / "durable-nats"
    (run_dir / "nats").mkdir(parents=True, exist_ok=True)
    suite.spawn(
        "durable-nats",
        "nats",
        f"tcp://127.0.0.1:{nats_port}",
        NATS_PORT=str(nats_port),
        NATS_MONITOR_PORT=str(free_port()),
        RUN_DIR=str(run_dir),
    )
    state, cache = suite.private_redis("durable-redis"), suite.private_redis("durable-redis-cache", "redis-cache")
    shared = {"NATS_URL": f"nats://127.0.0.1:{nats_port}", "REDIS_URL": state, "CACHE_REDIS_URL": cache}
    ports = {name: free_port() for name in ("ai", "news", "sentiment")}
    for name, port in ports.items():
        suite.spawn(
            f"durable-{name}",
            name,
            f"http://127.0.0.1:{port}/health/live",
            **{f"{name.upper()}_PORT": str(port)},
            **shared,
        )
    client = redis.Redis.from_url(state)
    yield Private(f"http://127.0.0.1:{ports['news']}", f"http://127.0.0.1:{ports['sentiment']}", client)
    client.close()
    for name in ("durable-sentiment", "durable-news", "durable-ai", "durable-redis", "durable-redis-cache"):
        suite.stop(name)
    suite.stop("durable-nats")


def news_view(base: str) -> dict[str, Any]:
    body = httpx.get(f"{base}/api/news/latest", params={"limit": 100}, timeout=10).json()
    return {item["id"]: item["sentiment"] for item in body["news"]}


def asset_count(base: str, asset: str) -> int:
    return int(httpx.get(f"{base}/api/sentiment/symbol/{asset}", timeout=10).json()["social_volume"])


def test_a_flushed_state_redis_is_rebuilt_from_the_streams(private: Private, sandbox: Suite) -> None:
    # Settled: every story scored, every event relayed, sentiment caught up with the scores.
    def settled() -> bool:
        news = news_view(private.news)
        return (
            len(news) >= 10
            and all(news.values())
            and private.state.zcard("news:unscored") == 0
            and private.state.zcard("news:outbox") == 0
            and asset_count(private.sentiment, "BTC") > 0
        )

    wait_for(settled, timeout_s=90)
    time.sleep(2)  # the durable consumer's last acks
    before_news, before_btc = news_view(private.news), asset_count(private.sentiment, "BTC")
    before_total = httpx.get(f"{private.news}/api/news/latest", params={"limit": 1}).json()["total"]

    for source in ("rss", "cryptopanic", "newsapi"):
        sandbox.set_fault(source, "status", status=503)
    flushed = time.monotonic()
    private.state.flushall()
    assert private.state.dbsize() <= 5  # gone (a poll or a lease may already be back)

    def rebuilt() -> bool:
        # Pages the news replica keeps in memory (CACHE_TTL_NEWS_PAGE) and cached reads still show the old
        # view for a few seconds after the flush, so the view alone proves nothing: wait for the rebuild.
        if not (private.state.exists("news:epoch") and private.state.exists("sentiment:epoch")):
            return False
        detail = httpx.get(f"{private.news}/health").json()["dependencies"]["sources"]["detail"]
        if detail.get("rebuild") is not None or detail.get("events_pending") != 0:
            return False
        total = httpx.get(f"{private.news}/api/news/latest", params={"limit": 1}).json()["total"]
        news = news_view(private.news)
        return (
            total >= before_total
            and all(news.get(article_id) == label for article_id, label in before_news.items())
            and asset_count(private.sentiment, "BTC") == before_btc
        )

    wait_for(rebuilt, timeout_s=REBUILD_BOUND_S)
    took = time.monotonic() - flushed
    print(f"state Redis flushed: news ({before_total} stories) and sentiment rebuilt in {took:.1f} s")
    assert private.state.exists("news:epoch") and private.state.exists("sentiment:epoch")
    news_health = httpx.get(f"{private.news}/health").json()["dependencies"]["sources"]["detail"]
    assert news_health["rebuild"] is None and news_health["events_pending"] == 0
    assert news_health["rebuilt_stories"] >= len(before_news)
