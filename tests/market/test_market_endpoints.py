"""Market endpoints through the real gateway in sandbox mode: what the data says, bad input as the contract's
4xx, and fallback per endpoint family when the primary upstream fails. (Each endpoint's shape: tests/smoke.)"""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from contract import assert_error, assert_ok
from harness import Suite

NOW_MS = int(time.time() * 1000)
DAY = 86_400_000


def test_candles_are_closed_hours_with_open_times(gateway: httpx.Client) -> None:
    data = assert_ok(gateway.get("/api/ohlcv", params={"symbol": "BTC", "timeframe": "1h", "limit": 24}))["data"]
    assert len(data) == 24
    opens = [candle["t"] for candle in data]
    assert all(later - earlier == 3_600_000 for earlier, later in itertools.pairwise(opens))
    assert opens[-1] + 3_600_000 <= int(time.time() * 1000)


def test_dominance_sums_to_100(gateway: httpx.Client) -> None:
    shares = assert_ok(gateway.get("/api/stats/dominance"))["dominance"]
    assert round(sum(shares.values()), 6) == 100.0 and "others" in shares


def test_ticker_and_price_agree_with_the_market_list(gateway: httpx.Client) -> None:
    price = assert_ok(gateway.get("/api/price/ETH"))["price"]
    listed = next(
        coin for coin in assert_ok(gateway.get("/api/market", params={"limit": 10}))["items"] if coin["symbol"] == "ETH"
    )
    assert price == pytest.approx(listed["price"], rel=0.01)


@pytest.mark.parametrize(
    "path, status, code",
    [
        ("/api/ticker/NOTACOIN", 404, "INVALID_SYMBOL"),
        ("/api/price/BTCC", 404, "INVALID_SYMBOL"),
        ("/api/ohlcv?symbol=BTC&timeframe=2h", 400, "INVALID_PARAMETER"),
        ("/api/ohlcv?symbol=BTC&timeframe=1h&limit=5000", 400, "INVALID_PARAMETER"),
        ("/api/orderbook/BTC?limit=0", 400, "INVALID_PARAMETER"),
        ("/api/trades/BTC?limit=501", 400, "INVALID_PARAMETER"),
        ("/api/history/price/BTC?from=10&to=5", 400, "INVALID_PARAMETER"),
        ("/api/blockchain/transactions/0x123?chain=ethereum", 400, "INVALID_PARAMETER"),
        (
            "/api/blockchain/transactions/0x52908400098527886E0F7030069857D2E4169EE7?chain=dogechain",
            400,
            "INVALID_PARAMETER",
        ),
        ("/api/blockchain/whale-alerts?limit=0", 400, "INVALID_PARAMETER"),
    ],
)
def test_bad_input_gets_the_contract_4xx(gateway: httpx.Client, path: str, status: int, code: str) -> None:
    assert_error(gateway.get(path), status, code)


def test_unknown_symbol_suggests_close_matches(gateway: httpx.Client) -> None:
    details = gateway.get("/api/ticker/ETHH").json()["error"]["details"]
    assert "ETH" in details["suggestions"]


@pytest.mark.parametrize(
    "path, fallback",
    [
        ("/api/ticker/ADA", "kraken"),
        ("/api/price/BTC?convert=eur", "kraken"),
        ("/api/ohlcv?symbol=ETH&timeframe=15m&limit=10", "kraken"),
        ("/api/orderbook/ETH?limit=5", "kraken"),
        ("/api/trades/BTC-USDT?limit=5", "kraken"),
    ],
)
def test_binance_failing_falls_back_to_kraken(sandbox: Suite, gateway: httpx.Client, path: str, fallback: str) -> None:
    gateway.get("/api/exchange-info")  # the symbol list is cached while Binance is up
    sandbox.set_fault("binance", "status", status=503, path_contains="/api/v3/")
    body = assert_ok(gateway.get(path))
    assert body["meta"]["sources_tried"] == ["binance", fallback]


def test_a_pair_the_fallback_does_not_list_is_503_not_502(sandbox: Suite, gateway: httpx.Client) -> None:
    gateway.get("/api/exchange-info")
    sandbox.set_fault("binance", "status", status=503, path_contains="/api/v3/ticker")
    assert_error(gateway.get("/api/ticker/SOL"), 503, "UPSTREAM_UNAVAILABLE")  # Kraken's pair list has no SOL
    direct = httpx.get(f"{sandbox.service_url('market')}/api/ticker/SOL").json()["error"]["details"]
    assert direct["failures"] == [
        {"source": "binance", "reason": "server_error"},
        {"source": "kraken", "reason": "not_served"},
    ]


def test_whale_alerts_are_labelled_and_filtered(gateway: httpx.Client) -> None:
    alerts = assert_ok(gateway.get("/api/blockchain/whale-alerts", params={"min_value": 2_000_000, "limit": 50}))[
        "alerts"
    ]
    assert alerts and all(alert["usd_value"] >= 2_000_000 for alert in alerts)
    assert {"binance", "coinbase", "kraken"} & {alert["from_owner"] for alert in alerts} | {
        alert["to_owner"] for alert in alerts
    }
    assert [alert["timestamp"] for alert in alerts] == sorted((alert["timestamp"] for alert in alerts), reverse=True)


def test_bitcoin_history_falls_back_to_mempool(sandbox: Suite, gateway: httpx.Client) -> None:
    sandbox.set_fault("blockchair", "status", status=500)
    body = assert_ok(
        gateway.get(
            "/api/blockchain/transactions/bc1q9d4ywgfnd8h43da5tpcxcn6ajv590cg6d3tg6axemvljvt2k76zs50tv4q",
            params={"chain": "bitcoin", "limit": 3},
        )
    )
    assert body["meta"]["sources_tried"] == ["blockchair", "mempool"]
    assert len(body["transactions"]) == 3 and body["transactions"][0]["fee"] is not None


def test_ethereum_history_falls_back_to_blockchair(sandbox: Suite, gateway: httpx.Client) -> None:
    sandbox.set_fault("etherscan", "status", status=502)
    body = assert_ok(
        gateway.get("/api/blockchain/transactions/0x3f5CE5FBFe3E9af3971dD833D26bA9b5C936f0bE", params={"limit": 3})
    )
    assert body["meta"]["sources_tried"] == ["etherscan", "blockchair"]


def test_coingecko_failing_stats_fall_back_to_coincap(sandbox: Suite, gateway: httpx.Client) -> None:
    time.sleep(2.1)  # the stats cached by earlier tests go stale only with the test TTLs; force a real fetch
    sandbox.set_fault("coingecko", "status", status=502)
    body = gateway.get("/api/stats/dominance").json()
    assert body["meta"]["source"] in ("coincap", "coingecko")  # fresh stats (300 s TTL) may still be cached
    if body["meta"]["cache"] == "miss":
        assert body["meta"]["sources_tried"] == ["coingecko", "coincap"]


def test_ticker_stale_if_every_exchange_fails(sandbox: Suite, gateway: httpx.Client) -> None:
    fresh = assert_ok(gateway.get("/api/ticker/BNB"))
    time.sleep(5.2)  # the ticker TTL is 5 s
    sandbox.set_fault("binance", "status", status=500, path_contains="/api/v3/ticker")
    sandbox.set_fault("kraken", "timeout")
    stale = assert_ok(gateway.get("/api/ticker/BNB"))
    assert stale["meta"]["stale"] is True and stale["last"] == fresh["last"]
