"""The foundation, end to end through the real gateway: single-flight, fallback per failure class,
stale-if-error and metrics. (The contract's shape, errors, health, docs and CORS: tests/smoke.)"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from contract import assert_error
from harness import Suite


async def _concurrent_gets(urls: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=20.0) as client:
        return list(await asyncio.gather(*(client.get(url) for url in urls)))


def test_concurrent_cold_requests_make_one_upstream_call(sandbox: Suite) -> None:
    sandbox.set_fault("coingecko", "slow", delay_ms=400)  # keep the first fetch in flight while the rest arrive
    url = f"{sandbox.gateway_url}/api/market?limit=5&currency=cad"
    responses = asyncio.run(_concurrent_gets([url] * 25))
    assert all(response.status_code == 200 for response in responses)
    assert sandbox.calls("coingecko", "vs_currency=cad") == 1
    statuses = {response.json()["meta"]["cache"] for response in responses}
    assert "miss" in statuses and statuses <= {"miss", "coalesced", "hit"}


def test_primary_failing_falls_back_and_says_so(sandbox: Suite, gateway: httpx.Client) -> None:
    time.sleep(2.1)  # a 300-coin list another test cached goes stale (test TTL 2 s)
    sandbox.set_fault("coingecko", "status", status=500)
    body = gateway.get("/api/market", params={"limit": 300}).json()
    assert body["meta"]["source"] == "coincap"
    assert body["meta"]["sources_tried"] == ["coingecko", "coincap"]
    assert len(body["items"]) == 300 and body["items"][0]["symbol"] == "BTC"


@pytest.mark.parametrize(
    "fault",
    [
        {"mode": "status", "status": 429},
        {"mode": "malformed"},
        {"mode": "status", "status": 451},
        {"mode": "status", "status": 503},
    ],
)
def test_each_failure_class_falls_back(sandbox: Suite, gateway: httpx.Client, fault: dict[str, object]) -> None:
    time.sleep(2.1)  # let the usd list from earlier tests go stale, so this request really fetches
    sandbox.set_fault("coingecko", **fault)  # type: ignore[arg-type]
    meta = gateway.get("/api/market", params={"limit": 5}).json()["meta"]
    assert meta["source"] == "coincap" and meta["sources_tried"] == ["coingecko", "coincap"]


def test_all_sources_failing_serves_last_value_marked_stale(sandbox: Suite, gateway: httpx.Client) -> None:
    fresh = gateway.get("/api/market", params={"limit": 5, "currency": "gbp"}).json()
    assert fresh["meta"]["stale"] is False
    time.sleep(2.1)  # past the test TTL of 2 s
    sandbox.set_fault("coingecko", "status", status=500)  # CoinCap has no GBP: every source fails
    stale = gateway.get("/api/market", params={"limit": 5, "currency": "gbp"})
    assert stale.status_code == 200
    body = stale.json()
    assert body["meta"]["stale"] is True and body["meta"]["cache"] == "stale"
    assert body["items"] == fresh["items"]
    assert body["meta"]["age_ms"] >= 2000


def test_all_sources_failing_with_nothing_cached_is_503(sandbox: Suite, gateway: httpx.Client) -> None:
    sandbox.set_fault("coingecko", "status", status=500)
    assert_error(gateway.get("/api/market", params={"currency": "jpy"}), 503, "UPSTREAM_UNAVAILABLE")
    # The gateway replaces 5xx bodies with its generic envelope (gateway/README.md); the service's own has the detail.
    direct = httpx.get(f"{sandbox.service_url('market')}/api/market", params={"currency": "inr"})
    body = assert_error(direct, 503, "UPSTREAM_UNAVAILABLE")
    assert body["error"]["details"]["sources_tried"] == ["coingecko"]
    assert body["error"]["details"]["failures"] == [{"source": "coingecko", "reason": "server_error"}]


def test_service_metrics_are_exported(suite: Suite, gateway: httpx.Client) -> None:
    gateway.get("/api/market", params={"limit": 1})
    text = httpx.get(f"{suite.service_url('market')}/metrics").text
    assert 'http_requests_total{method="GET",route="/api/market",service="market",status="200"}' in text
    assert 'upstream_requests_total{outcome="ok",provider="coingecko"}' in text
    assert "cache_requests_total" in text
