"""Global stats, dominance, price history and the providers report, with CoinGecko, CoinCap and Binance
bodies in their real formats mocked at the HTTP edge."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from market_service.app import create_app
from suite_shared.settings import Settings

DAY = 86_400_000
GLOBAL = {
    "data": {
        "active_cryptocurrencies": 12924,
        "upcoming_icos": 0,
        "ongoing_icos": 49,
        "ended_icos": 3376,
        "markets": 576,
        "total_market_cap": {"usd": 1.0e12, "btc": 5.0e7},
        "total_volume": {"usd": 5.0e10, "btc": 2.5e6},
        "market_cap_percentage": {
            "btc": 40.123456,
            "eth": 18.5,
            "usdt": 7.1,
            "bnb": 4.0,
            "usdc": 3.2,
            "xrp": 2.0,
            "ada": 1.1,
            "sol": 1.0,
            "doge": 0.9,
            "dot": 0.6,
            "ltc": 0.5,
        },
        "market_cap_change_percentage_24h_usd": -0.37,
        "updated_at": 1663833655,
    }
}
DEFI = {
    "data": {
        "defi_market_cap": "4.4e10",
        "eth_market_cap": "1.6e11",
        "defi_to_eth_ratio": "27.1",
        "trading_volume_24h": "3.1e9",
        "defi_dominance": "4.4",
        "top_coin_name": "Lido Staked Ether",
        "top_coin_defi_dominance": 20.1,
    }
}


def market_row(coin_id: str, symbol: str, rank: int, change: float, volume: float) -> dict[str, Any]:
    return {
        "id": coin_id,
        "symbol": symbol,
        "name": coin_id.title(),
        "current_price": 10.0,
        "market_cap": 1e9 / rank,
        "market_cap_rank": rank,
        "total_volume": volume,
        "price_change_percentage_24h": change,
        "circulating_supply": 1.0,
        "total_supply": 1.0,
        "ath": 20.0,
        "ath_date": "2021-11-10T14:24:11.849Z",
        "atl": 1.0,
        "atl_date": "2013-07-06T00:00:00.000Z",
        "last_updated": "2023-07-28T10:15:04.123Z",
    }


MARKETS = [
    market_row("bitcoin", "btc", 1, 2.0, 3e10),
    market_row("ethereum", "eth", 2, -3.0, 1e10),
    market_row("thin-coin", "thin", 3, 90.0, 10.0),
    market_row("solana", "sol", 4, 8.0, 2e9),
    market_row("cardano", "ada", 5, -6.0, 5e8),
]
COINCAP_ASSETS = {
    "timestamp": 1,
    "data": [
        {
            "id": "bitcoin",
            "rank": "1",
            "symbol": "BTC",
            "name": "Bitcoin",
            "supply": "1",
            "maxSupply": None,
            "marketCapUsd": "600",
            "volumeUsd24Hr": "10",
            "priceUsd": "1",
            "changePercent24Hr": "1",
            "vwap24Hr": "1",
        },
        {
            "id": "ethereum",
            "rank": "2",
            "symbol": "ETH",
            "name": "Ethereum",
            "supply": "1",
            "maxSupply": None,
            "marketCapUsd": "300",
            "volumeUsd24Hr": "5",
            "priceUsd": "1",
            "changePercent24Hr": "1",
            "vwap24Hr": "1",
        },
        {
            "id": "tether",
            "rank": "3",
            "symbol": "USDT",
            "name": "Tether",
            "supply": "1",
            "maxSupply": None,
            "marketCapUsd": "100",
            "volumeUsd24Hr": "50",
            "priceUsd": "1",
            "changePercent24Hr": "0",
            "vwap24Hr": "1",
        },
    ],
}


class Upstreams:
    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.seen: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url)
        host, path, params = request.url.host, request.url.path, request.url.params
        if host in self.failing:
            return httpx.Response(500)
        if host == "cg.test":
            if path.endswith("/market_chart/range"):
                start, end = int(params["from"]) * 1000, int(params["to"]) * 1000
                times = range(start, end + 1, 3_600_000)
                return httpx.Response(
                    200,
                    json={
                        "prices": [[t, t / DAY] for t in times],
                        "market_caps": [[t, 1e9] for t in times],
                        "total_volumes": [[t, 5e6] for t in times],
                    },
                )
            return httpx.Response(
                200,
                json={
                    "/api/v3/global": GLOBAL,
                    "/api/v3/global/decentralized_finance_defi": DEFI,
                    "/api/v3/coins/markets": MARKETS,
                }[path],
            )
        if host == "cc.test":
            return httpx.Response(200, json=COINCAP_ASSETS)
        if path == "/api/v3/exchangeInfo":
            return httpx.Response(
                200,
                json={
                    "symbols": [
                        {
                            "symbol": "BTCUSDT",
                            "status": "TRADING",
                            "baseAsset": "BTC",
                            "quoteAsset": "USDT",
                            "filters": [],
                        }
                    ]
                },
            )
        start = int(params["startTime"])
        return httpx.Response(
            200,
            json=[
                [start + i * DAY, "1", "2", "0.5", f"{i}.5", "3", start + (i + 1) * DAY - 1, "300", 1, "1", "1", "0"]
                for i in range(3)
            ],
        )


@pytest.fixture
def upstreams() -> Upstreams:
    return Upstreams()


@pytest.fixture
def client(upstreams: Upstreams) -> Any:
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        nats_url="nats://127.0.0.1:9",
        upstream_retries=0,
        coingecko_base_url="https://cg.test/api/v3",
        coincap_base_url="https://cc.test/v2",
        binance_base_url="https://bn.test",
        kraken_base_url="https://kr.test",
        admin_api_keys="operator-key",
    )
    with TestClient(create_app(settings, transport=httpx.MockTransport(upstreams))) as test_client:
        yield test_client


def test_stats_global_figures_and_movers(client: TestClient) -> None:
    body = client.get("/api/stats").json()
    assert body["global"] == {
        "total_market_cap": 1.0e12,
        "total_volume_24h": 5.0e10,
        "bitcoin_dominance": 40.123456,
        "ethereum_dominance": 18.5,
        "defi_dominance": 4.4,
        "market_cap_change_24h": -0.37,
        "volume_change_24h": None,
        "active_cryptocurrencies": 12924,
        "active_markets": None,
        "active_exchanges": 576,
    }
    assert [mover["symbol"] for mover in body["top_gainers"]] == ["SOL", "BTC"]  # THIN: too little volume
    assert [mover["symbol"] for mover in body["top_losers"]] == ["ADA", "ETH"]
    assert body["meta"]["source"] == "coingecko"


def test_dominance_sums_to_exactly_100_with_others(client: TestClient) -> None:
    shares = client.get("/api/stats/dominance").json()["dominance"]
    assert len(shares) == 11 and "others" in shares and "LTC" not in shares
    assert round(sum(shares.values()), 6) == 100.0
    assert shares["BTC"] > shares["ETH"] > shares["USDT"]


def test_stats_fall_back_to_coincap_sums(client: TestClient, upstreams: Upstreams) -> None:
    upstreams.failing.add("cg.test")
    body = client.get("/api/stats/dominance").json()
    assert body["meta"]["sources_tried"] == ["coingecko", "coincap"]
    assert body["dominance"] == {"BTC": 60.0, "ETH": 30.0, "USDT": 10.0, "others": 0.0}


def test_history_resamples_coingecko_points_to_the_interval(client: TestClient) -> None:
    start = 1_700_000_000_000 // DAY * DAY
    body = client.get(f"/api/history/price/btc?from={start}&to={start + 3 * DAY - 1}&interval=1d").json()
    assert body["symbol"] == "BTC" and body["interval"] == "1d" and body["meta"]["source"] == "coingecko"
    assert [point["timestamp"] for point in body["data"]] == [start, start + DAY, start + 2 * DAY]
    last_hour_of_day_one = start + DAY - 3_600_000
    assert body["data"][0]["price"] == pytest.approx(last_hour_of_day_one / DAY)
    assert set(body["data"][0]) == {"timestamp", "price", "volume", "market_cap"}


def test_history_falls_back_to_binance_candles(client: TestClient, upstreams: Upstreams) -> None:
    client.get("/api/market?limit=5")
    upstreams.failing.add("cg.test")
    start = 1_700_000_000_000 // DAY * DAY
    body = client.get(f"/api/history/price/BTC-USDT?from={start}&to={start + 2 * DAY}&interval=1d").json()
    assert body["meta"]["sources_tried"] == ["coingecko", "binance"]
    assert body["data"][0] == {"timestamp": start, "price": 0.5, "volume": 300.0, "market_cap": None}


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("from=2000&to=1000", 400, "INVALID_PARAMETER"),
        ("to=1000", 400, "INVALID_PARAMETER"),
        ("from=0&to=999999999999&interval=1h", 400, "INVALID_PARAMETER"),
        ("from=0&to=1000&interval=2d", 400, "INVALID_PARAMETER"),
    ],
)
def test_bad_history_parameters(client: TestClient, query: str, status: int, code: str) -> None:
    response = client.get(f"/api/history/price/BTC?{query}")
    assert response.status_code == status and response.json()["error"]["code"] == code


def test_history_of_unknown_coin_is_404(client: TestClient) -> None:
    response = client.get("/api/history/price/NOPE?from=0&to=1000")
    assert response.status_code == 404 and response.json()["error"]["code"] == "INVALID_SYMBOL"


def test_providers_report_health_errors_and_budget_to_an_admin(client: TestClient, upstreams: Upstreams) -> None:
    upstreams.failing.add("cg.test")
    client.get("/api/stats/dominance")
    body = client.get("/api/providers", headers={"X-API-Key": "operator-key"}).json()
    providers = {row["name"]: row for row in body["providers"]}
    assert set(providers) >= {"coingecko", "coincap", "binance", "kraken"} and body["replica"]
    assert providers["coingecko"]["status"] == "failing" and providers["coingecko"]["errors"] == {"server_error": 1}
    assert providers["coincap"]["status"] == "ok" and providers["coincap"]["last_success"]
    assert providers["kraken"]["status"] == "unused"
    assert providers["coingecko"]["budget"] == {"limit": 50, "window_s": 60, "remaining": 49}


def test_providers_show_the_public_only_state_and_a_coarse_budget(client: TestClient, upstreams: Upstreams) -> None:
    upstreams.failing.add("cg.test")
    client.get("/api/stats/dominance")
    body = client.get("/api/providers").json()
    assert "replica" not in body
    for row in body["providers"]:
        assert set(row) <= {"name", "status", "last_success", "budget_level"} and row["budget_level"] == "ok"
    coingecko = next(row for row in body["providers"] if row["name"] == "coingecko")
    assert coingecko["status"] == "failing"
