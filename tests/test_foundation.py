"""The foundation, end to end through the real gateway: contract shape, errors, health, docs, CORS,
single-flight, fallback, stale-if-error and running without Redis."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from harness import Suite

MARKET_FIELDS = {
    "symbol",
    "name",
    "rank",
    "price",
    "change_24h",
    "change_7d",
    "volume_24h",
    "market_cap",
    "circulating_supply",
    "total_supply",
    "ath",
    "ath_date",
    "atl",
    "atl_date",
    "last_updated",
}
META_FIELDS = {"source", "sources_tried", "cache", "age_ms", "stale", "as_of"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["timestamp"], int)
    assert "detail" not in body
    return body


def test_market_list_has_the_contract_shape_and_provenance(gateway: httpx.Client) -> None:
    response = gateway.get("/api/market", params={"limit": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and isinstance(body["timestamp"], int)
    assert len(body["items"]) == 10
    assert set(body["items"][0]) == MARKET_FIELDS
    assert [coin["rank"] for coin in body["items"]] == sorted(coin["rank"] for coin in body["items"])
    assert body["items"][0]["symbol"] == "BTC"
    assert set(body["meta"]) == META_FIELDS
    assert body["meta"]["source"] == "coingecko"
    assert body["meta"]["sources_tried"][0] == "coingecko"
    assert body["last_updated"]


@pytest.mark.parametrize("sort, key", [("volume", "volume_24h"), ("price_change", "change_24h")])
def test_market_sorts_descending_by_the_chosen_field(gateway: httpx.Client, sort: str, key: str) -> None:
    items = gateway.get("/api/market", params={"limit": 50, "sort": sort}).json()["items"]
    values = [coin[key] for coin in items]
    assert values == sorted(values, reverse=True)


def test_market_category_filter_narrows_the_list(gateway: httpx.Client) -> None:
    everything = gateway.get("/api/market", params={"limit": 500}).json()["items"]
    defi = gateway.get("/api/market", params={"limit": 500, "category": "defi"}).json()["items"]
    assert 0 < len(defi) < len(everything)


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"sort": "name"}, {"currency": "xyz"}, {"category": "gaming"}],
)
def test_bad_market_parameters_get_400_envelope(gateway: httpx.Client, params: dict[str, object]) -> None:
    assert_error(gateway.get("/api/market", params=params), 400, "INVALID_PARAMETER")


def test_unknown_route_gets_404_envelope(gateway: httpx.Client) -> None:
    assert_error(gateway.get("/api/definitely-not-a-route"), 404, "NOT_FOUND")
    assert_error(gateway.get("/nothing/here"), 404, "NOT_FOUND")


def test_wrong_method_gets_405_envelope(gateway: httpx.Client) -> None:
    assert_error(gateway.delete("/api/market"), 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_suite_health_lists_every_service(gateway: httpx.Client, path: str) -> None:
    response = gateway.get(path)
    assert response.status_code == 200
    body = response.json()
    assert "success" not in body
    assert body["status"] in ("healthy", "degraded")
    assert body["data_source"] == "sandbox"
    assert set(body["services"]) == {"market", "news", "sentiment", "ai", "stream"}
    for report in body["services"].values():
        assert report["status"] == "healthy", report
        assert report["data_source"] == "sandbox"
        assert report["dependencies"]["redis"]["status"] == "up"
        assert report["dependencies"]["nats"]["status"] == "up"
    assert isinstance(body["uptime"], float) and body["version"]


def test_one_merged_openapi_document_and_docs_page(gateway: httpx.Client) -> None:
    document = gateway.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/market",
        "/api/news/latest",
        "/api/sentiment/global",
        "/api/sentiment/symbol/{symbol}",
        "/api/ai/signals",
        "/api/sentiment/analyze",
        "/api/models",
    ):
        assert path in document["paths"], path
    assert not any(path.startswith(("/suite", "/metrics")) for path in document["paths"])
    assert "x-missing-services" not in document
    page = gateway.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower() and "/openapi.json" in page.text


def test_cors_preflight_is_answered_for_any_origin(gateway: httpx.Client) -> None:
    response = gateway.options(
        "/api/market",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]
    simple = gateway.get("/api/market", params={"limit": 1}, headers={"Origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "*"


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
    time.sleep(2.1)  # the 500-coin list cached by an earlier test goes stale (test TTL 2 s)
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
