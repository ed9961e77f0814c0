"""Resilience across processes: single-flight across two market replicas, running without Redis,
and the gateway's inbound rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from harness import Suite, free_port


@pytest.fixture
def second_market(sandbox: Suite) -> Iterator[str]:
    port = free_port()
    sandbox.spawn("market-2", "market", f"http://127.0.0.1:{port}/health", MARKET_PORT=str(port))
    yield f"http://127.0.0.1:{port}"
    sandbox.stop("market-2")


async def _spread(urls: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=20.0) as client:
        return list(await asyncio.gather(*(client.get(url) for url in urls)))


def test_cold_misses_on_two_replicas_make_one_upstream_call(sandbox: Suite, second_market: str) -> None:
    sandbox.set_fault("coingecko", "slow", delay_ms=600)  # hold the Redis lock while the others arrive
    path = "/api/market?limit=3&currency=aud"
    urls = [f"{sandbox.service_url('market')}{path}", f"{second_market}{path}"] * 10
    responses = asyncio.run(_spread(urls))
    assert all(response.status_code == 200 for response in responses)
    assert sandbox.calls("coingecko", "vs_currency=aud") == 1
    assert {response.json()["items"][0]["price"] for response in responses}.__len__() == 1


@pytest.fixture
def market_with_private_redis(sandbox: Suite) -> Iterator[tuple[str, Suite]]:
    market_port = free_port()
    state = sandbox.private_redis("redis-private")
    cache = sandbox.private_redis("redis-cache-private", "redis-cache")
    sandbox.spawn(
        "market-private",
        "market",
        f"http://127.0.0.1:{market_port}/health",
        MARKET_PORT=str(market_port),
        REDIS_URL=state,
        CACHE_REDIS_URL=cache,
    )
    yield f"http://127.0.0.1:{market_port}", sandbox
    for name in ("market-private", "redis-private", "redis-cache-private"):
        sandbox.stop(name)


def test_redis_stopped_the_service_still_answers_and_reports_degraded(
    market_with_private_redis: tuple[str, Suite],
) -> None:
    market, suite = market_with_private_redis
    before = httpx.get(f"{market}/api/market", params={"limit": 5, "currency": "chf"})
    assert before.status_code == 200
    assert httpx.get(f"{market}/health").json()["status"] == "healthy"

    suite.stop("redis-private")
    suite.stop("redis-cache-private")

    cached = httpx.get(f"{market}/api/market", params={"limit": 5, "currency": "chf"}, timeout=10)
    assert cached.status_code == 200 and cached.json()["items"] == before.json()["items"]
    fetched = httpx.get(f"{market}/api/market", params={"limit": 5, "currency": "hkd"}, timeout=10)
    assert fetched.status_code == 200 and fetched.json()["meta"]["cache"] == "miss"
    health = httpx.get(f"{market}/health").json()
    assert health["status"] == "degraded"
    assert health["dependencies"]["redis"]["status"] == "down"
    assert health["dependencies"]["redis_cache"]["status"] == "down"
    metrics = httpx.get(f"{market}/metrics").text
    assert 'redis_available{role="state",service="market"} 0.0' in metrics
    assert 'redis_available{role="cache",service="market"} 0.0' in metrics


@pytest.fixture
def limited_gateway(suite: Suite) -> Iterator[str]:
    port, metrics_port, internal_port = free_port(), free_port(), free_port()
    suite.spawn(
        "gateway-limited",
        "gateway",
        f"http://127.0.0.1:{port}/api/health",
        GATEWAY_PORT=str(port),
        GATEWAY_METRICS_PORT=str(metrics_port),
        GATEWAY_INTERNAL_PORT=str(internal_port),
        RATE_LIMIT_IP_PER_MIN="5",
        RATE_LIMIT_KEY_PER_MIN="8",
    )
    yield f"http://127.0.0.1:{port}"
    suite.stop("gateway-limited")


def test_one_ip_past_its_limit_gets_429_with_retry_after_and_envelope(limited_gateway: str) -> None:
    with httpx.Client(base_url=limited_gateway, timeout=10) as client:
        statuses = [client.get("/api/market", params={"limit": 1}).status_code for _ in range(12)]
        assert 429 in statuses and statuses[0] == 200
        limited = client.get("/api/market", params={"limit": 1})
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        body = limited.json()
        assert body["success"] is False and body["error"]["code"] == "RATE_LIMITED"
        # No keys are configured in this suite, so there is no keyed tier: a key header buys nothing.
        keyed = client.get("/api/market", params={"limit": 1}, headers={"X-API-Key": "key-one"})
        assert keyed.status_code == 429
