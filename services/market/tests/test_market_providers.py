"""Market list providers against bodies in the upstreams' real formats (mocked at the HTTP edge)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from market_service.app import create_app
from suite_shared.settings import Settings

COINGECKO_ROW: dict[str, Any] = {
    "id": "bitcoin",
    "symbol": "btc",
    "name": "Bitcoin",
    "image": "https://example/btc.png",
    "current_price": 29354.0,
    "market_cap": 570573532306,
    "market_cap_rank": 1,
    "fully_diluted_valuation": 616443437574,
    "total_volume": 11876346231,
    "high_24h": 29517.0,
    "low_24h": 29187.0,
    "price_change_24h": -94.27,
    "price_change_percentage_24h": -0.32,
    "market_cap_change_24h": -1690418596.0,
    "market_cap_change_percentage_24h": -0.29,
    "circulating_supply": 19437562.0,
    "total_supply": 21000000.0,
    "max_supply": 21000000.0,
    "ath": 69045,
    "ath_change_percentage": -57.46,
    "ath_date": "2021-11-10T14:24:11.849Z",
    "atl": 67.81,
    "atl_change_percentage": 43214.5,
    "atl_date": "2013-07-06T00:00:00.000Z",
    "roi": None,
    "last_updated": "2023-07-28T10:15:04.123Z",
    "price_change_percentage_24h_in_currency": -0.32,
    "price_change_percentage_7d_in_currency": 1.5,
}
COINCAP_BODY: dict[str, Any] = {
    "data": [
        {
            "id": "bitcoin",
            "rank": "1",
            "symbol": "BTC",
            "name": "Bitcoin",
            "supply": "19437562.0000000000000000",
            "maxSupply": "21000000.0000000000000000",
            "marketCapUsd": "570573532306.01",
            "volumeUsd24Hr": "11876346231.2",
            "priceUsd": "29354.1201",
            "changePercent24Hr": "-0.3201",
            "vwap24Hr": "29400.1",
            "explorer": "https://x",
        }
    ],
    "timestamp": 1690539304000,
}


def make_client(handler: Any) -> TestClient:
    # Redis at a closed port: the service runs degraded on its in-process cache, which these tests also cover.
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        nats_url="nats://127.0.0.1:9",
        upstream_retries=0,
        coingecko_base_url="https://cg.test/api/v3",
        coincap_base_url="https://cc.test/v2",
    )
    return TestClient(create_app(settings, transport=httpx.MockTransport(handler)))


def test_coingecko_rows_become_market_coins() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v3/coins/markets"
        assert request.url.params["vs_currency"] == "usd"
        return httpx.Response(200, json=[COINGECKO_ROW])

    with make_client(handler) as client:
        body = client.get("/api/market?limit=1").json()
    coin = body["items"][0]
    assert coin["symbol"] == "BTC" and coin["rank"] == 1 and coin["price"] == 29354.0
    assert coin["ath_date"] == "2021-11-10" and coin["change_7d"] == 1.5
    assert body["meta"]["source"] == "coingecko" and body["meta"]["cache"] == "miss"


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(429, headers={"Retry-After": "10"}),
        httpx.Response(200, content=b"<html>"),
        httpx.Response(200, json={"unexpected": "shape"}),
    ],
)
def test_coincap_answers_when_coingecko_fails(failure: httpx.Response) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return failure if request.url.host == "cg.test" else httpx.Response(200, json=COINCAP_BODY)

    with make_client(handler) as client:
        body = client.get("/api/market?limit=1").json()
    assert body["meta"]["source"] == "coincap"
    assert body["meta"]["sources_tried"] == ["coingecko", "coincap"]
    assert body["items"][0]["price"] == pytest.approx(29354.1201)
    assert body["items"][0]["change_7d"] is None


def test_timeouts_everywhere_give_504_envelope() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with make_client(handler) as client:
        response = client.get("/api/market")
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "UPSTREAM_TIMEOUT"


def test_second_request_is_a_cache_hit_even_without_redis() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        return httpx.Response(200, json=[COINGECKO_ROW])

    with make_client(handler) as client:
        client.get("/api/market?limit=1")
        second = client.get("/api/market?limit=1").json()
        health = client.get("/health").json()
    assert second["meta"]["cache"] == "hit" and len(calls) == 1
    assert health["status"] == "degraded" and health["dependencies"]["redis"]["status"] == "down"
