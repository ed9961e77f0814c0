"""Price, ticker, candles, order book, trades and exchange info with Binance and Kraken bodies in their
real formats, mocked at the HTTP edge: shapes, symbol handling, fallbacks and every bad input."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from market_service.app import create_app
from suite_shared.settings import Settings

HOUR = 3_600_000


def lot(min_qty: str) -> list[dict[str, str]]:
    return [
        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
        {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000.0", "stepSize": min_qty},
    ]


EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1,
    "rateLimits": [],
    "exchangeFilters": [],
    "symbols": [
        {
            "symbol": f"{base}{quote}",
            "status": status,
            "baseAsset": base,
            "quoteAsset": quote,
            "filters": lot("0.00001"),
        }
        for base, quote, status in [
            ("BTC", "USDT", "TRADING"),
            ("ETH", "USDT", "TRADING"),
            ("ETH", "BTC", "TRADING"),
            ("BTC", "EUR", "TRADING"),
            ("LUNA", "USDT", "BREAK"),
            ("BNB", "USDT", "TRADING"),
        ]
    ],
}
TICKER_24H = {
    "symbol": "BTCUSDT",
    "priceChange": "-94.99",
    "priceChangePercent": "-1.5",
    "weightedAvgPrice": "37000.1",
    "prevClosePrice": "37100.0",
    "lastPrice": "37005.5",
    "lastQty": "0.1",
    "bidPrice": "37005.4",
    "bidQty": "1.0",
    "askPrice": "37005.6",
    "askQty": "2.0",
    "openPrice": "37570.0",
    "highPrice": "37800.0",
    "lowPrice": "36500.0",
    "volume": "8913.3",
    "quoteVolume": "329800000.5",
    "openTime": 1,
    "closeTime": 2,
    "firstId": 1,
    "lastId": 9,
    "count": 9,
}
KRAKEN_TICKER = {
    "error": [],
    "result": {
        "XBTUSDT": {
            "a": ["37010.0", "1", "1.000"],
            "b": ["37009.0", "2", "2.000"],
            "c": ["37009.5", "0.01"],
            "v": ["100.0", "200.0"],
            "p": ["37000.0", "37001.0"],
            "t": [10, 20],
            "l": ["36600.0", "36500.0"],
            "h": ["37700.0", "37800.0"],
            "o": "37200.0",
        }
    },
}


def klines(count: int, now_ms: int) -> list[list[Any]]:
    start = (now_ms // HOUR - count + 1) * HOUR  # the last row is the unfinished current hour
    return [
        [
            start + i * HOUR,
            "100.0",
            "110.0",
            "90.0",
            f"{100 + i}.0",
            "5.5",
            start + (i + 1) * HOUR - 1,
            "550.0",
            10,
            "2.0",
            "200.0",
            "0",
        ]
        for i in range(count)
    ]


class Upstreams:
    """Binance and Kraken at the HTTP edge; `failing` hosts answer 503."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.seen: list[httpx.URL] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url)
        if request.url.host in self.failing:
            return httpx.Response(503)
        path, params = request.url.path, request.url.params
        if request.url.host == "binance.test":
            return self.binance(path, params)
        return self.kraken(path, params)

    def binance(self, path: str, params: Any) -> httpx.Response:
        now = int(time.time() * 1000)
        limit = int(params.get("limit", 100))
        bodies: dict[str, Any] = {
            "/api/v3/exchangeInfo": lambda: EXCHANGE_INFO,
            "/api/v3/ticker/24hr": lambda: {**TICKER_24H, "symbol": params.get("symbol")},
            "/api/v3/klines": lambda: klines(limit, now),
            "/api/v3/depth": lambda: {
                "lastUpdateId": 1,
                "bids": [[f"{100 - i}.0", "1.0"] for i in range(limit)],
                "asks": [[f"{101 + i}.0", "2.0"] for i in range(limit)],
            },
            "/api/v3/trades": lambda: [
                {
                    "id": i,
                    "price": "100.0",
                    "qty": "0.5",
                    "quoteQty": "50.0",
                    "time": now - 1000 + i,
                    "isBuyerMaker": i % 2 == 0,
                    "isBestMatch": True,
                }
                for i in range(limit)
            ],
        }
        return httpx.Response(200, json=bodies[path]())

    def kraken(self, path: str, params: Any) -> httpx.Response:
        if path == "/0/public/Ticker":
            return httpx.Response(200, json=KRAKEN_TICKER)
        if path == "/0/public/OHLC":
            now_s = int(time.time()) // 3600 * 3600
            rows = [[now_s - (5 - i) * 3600, "1.0", "2.0", "0.5", "1.5", "1.2", "10.0", 3] for i in range(6)]
            return httpx.Response(200, json={"error": [], "result": {"XBTUSDT": rows, "last": now_s}})
        return httpx.Response(200, json={"error": ["EQuery:Unknown asset pair"]})


@pytest.fixture
def upstreams() -> Upstreams:
    return Upstreams()


@pytest.fixture
def client(upstreams: Upstreams) -> Any:
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        nats_url="nats://127.0.0.1:9",
        upstream_retries=0,
        binance_base_url="https://binance.test",
        kraken_base_url="https://kraken.test",
    )
    with TestClient(create_app(settings, transport=httpx.MockTransport(upstreams))) as test_client:
        yield test_client


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize("path", ["BTC", "btc", "BTC/USDT", "BTC-USDT", "BTCUSDT", "btcusdt", "BTC%2FUSDT"])
def test_ticker_accepts_every_spelling(client: TestClient, path: str) -> None:
    body = client.get(f"/api/ticker/{path}").json()
    assert body["symbol"] == "BTC/USDT"
    assert (body["bid"], body["ask"], body["last"]) == (37005.4, 37005.6, 37005.5)
    assert body["volume"] == 8913.3 and body["quote_volume"] == 329800000.5
    assert body["meta"]["source"] == "binance"


def test_price_is_flat_with_24h_figures_and_converts(client: TestClient, upstreams: Upstreams) -> None:
    body = client.get("/api/price/BTC").json()
    assert {key: body[key] for key in ("symbol", "price", "change_24h", "high_24h", "low_24h", "volume_24h")} == {
        "symbol": "BTC",
        "price": 37005.5,
        "change_24h": -1.5,
        "high_24h": 37800.0,
        "low_24h": 36500.0,
        "volume_24h": 329800000.5,
    }
    client.get("/api/price/btcusdt?convert=eur")
    assert upstreams.seen[-1].params["symbol"] == "BTCEUR"
    bare = client.get("/api/price/ETH?include_24h=false").json()
    assert bare["price"] == 37005.5 and bare["change_24h"] is None


def test_ticker_falls_back_to_kraken(client: TestClient, upstreams: Upstreams) -> None:
    client.get("/api/exchange-info")  # the symbol list is cached before Binance goes down
    upstreams.failing.add("binance.test")
    body = client.get("/api/ticker/BTC/USDT").json()
    assert body["meta"]["sources_tried"] == ["binance", "kraken"]
    assert body["last"] == 37009.5 and body["quote_volume"] == pytest.approx(200.0 * 37001.0)
    assert upstreams.seen[-1].params["pair"] == "XBTUSDT"


def test_unknown_symbol_is_404_with_suggestions(client: TestClient) -> None:
    response = client.get("/api/ticker/BTCC")
    assert error_code(response, 404) == "INVALID_SYMBOL"
    assert "BTC" in response.json()["error"]["details"]["suggestions"]


def test_untraded_pair_of_known_asset_lists_its_pairs(client: TestClient) -> None:
    response = client.get("/api/ticker/BNB/EUR")
    assert error_code(response, 404) == "INVALID_SYMBOL"
    assert response.json()["error"]["details"]["suggestions"] == ["BNB/USDT"]


def test_delisted_pair_is_not_served(client: TestClient) -> None:
    assert error_code(client.get("/api/price/LUNA"), 404) == "INVALID_SYMBOL"


def test_ohlcv_serves_closed_candles_with_open_times(client: TestClient) -> None:
    body = client.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1h", "limit": 5}).json()
    data = body["data"]
    assert len(data) == 5 and set(data[0]) == {"t", "o", "h", "l", "c", "v"}
    now = int(time.time() * 1000)
    assert data[-1]["t"] + HOUR <= now < data[-1]["t"] + 2 * HOUR  # newest closed hour, not the running one
    assert [candle["t"] for candle in data] == sorted(candle["t"] for candle in data)
    assert body["symbol"] == "BTC/USDT" and body["timeframe"] == "1h" and body["meta"]["source"] == "binance"


def test_ohlcv_falls_back_to_kraken_with_the_same_semantics(client: TestClient, upstreams: Upstreams) -> None:
    client.get("/api/exchange-info")
    upstreams.failing.add("binance.test")
    body = client.get("/api/ohlcv", params={"symbol": "BTC", "timeframe": "1h", "limit": 3}).json()
    assert body["meta"]["source"] == "kraken" and len(body["data"]) == 3
    assert body["data"][-1]["t"] + HOUR <= int(time.time() * 1000)


@pytest.mark.parametrize(
    "params",
    [
        {"timeframe": "1h"},
        {"symbol": "BTC"},
        {"symbol": "BTC", "timeframe": "2h"},
        {"symbol": "BTC", "timeframe": "1h", "limit": 0},
        {"symbol": "BTC", "timeframe": "1h", "limit": 1001},
        {"symbol": "BTC", "timeframe": "1h", "since": -1},
        {"symbol": "BTC", "timeframe": "1h", "since": 2000, "until": 1000},
    ],
)
def test_bad_ohlcv_parameters_are_400(client: TestClient, params: dict[str, Any]) -> None:
    assert error_code(client.get("/api/ohlcv", params=params), 400) == "INVALID_PARAMETER"


def test_orderbook_is_sorted_and_cut_to_limit(client: TestClient, upstreams: Upstreams) -> None:
    body = client.get("/api/orderbook/ETH-USDT?limit=7").json()
    assert len(body["bids"]) == 7 and len(body["asks"]) == 7
    assert body["bids"] == sorted(body["bids"], reverse=True) and body["asks"] == sorted(body["asks"])
    assert body["bids"][0][0] < body["asks"][0][0]
    assert upstreams.seen[-1].params["limit"] == "100"  # fetched once at full depth, cut per request


@pytest.mark.parametrize("limit", [0, 101])
def test_orderbook_limit_out_of_range(client: TestClient, limit: int) -> None:
    assert error_code(client.get(f"/api/orderbook/BTC?limit={limit}"), 400) == "INVALID_PARAMETER"


def test_trades_are_newest_first_with_taker_side(client: TestClient) -> None:
    trades = client.get("/api/trades/BTC?limit=4").json()["trades"]
    # The newest 500 are fetched once (whatever the limit) and cut: the four newest of them.
    assert [trade["id"] for trade in trades] == ["499", "498", "497", "496"]
    assert [trade["side"] for trade in trades] == ["buy", "sell", "buy", "sell"]
    assert all(isinstance(trade["timestamp"], int) and trade["type"] is None for trade in trades)


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "since=-5", "since=abc"])
def test_bad_trades_parameters(client: TestClient, query: str) -> None:
    assert error_code(client.get(f"/api/trades/BTC?{query}"), 400) == "INVALID_PARAMETER"


def test_exchange_info_lists_pairs_with_limits_and_fees(client: TestClient) -> None:
    body = client.get("/api/exchange-info").json()
    assert body["exchange"] == "binance"
    btc = next(row for row in body["symbols"] if row["symbol"] == "BTC/USDT")
    assert btc == {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "active": True,
        "min_amount": 0.00001,
        "max_amount": 9000.0,
        "min_price": 0.01,
        "max_price": 1000000.0,
        "maker_fee": 0.001,
        "taker_fee": 0.001,
    }
    assert next(row for row in body["symbols"] if row["symbol"] == "LUNA/USDT")["active"] is False
