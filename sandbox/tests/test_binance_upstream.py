"""The sandbox's Binance REST and WebSocket imitations: real formats, errors, weights, streams."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from upstream_sandbox.app import create_app

KLINE_ROW_TYPES = [int, str, str, str, str, str, int, str, int, str, str, str]
TICKER_FIELDS = {
    "symbol",
    "priceChange",
    "priceChangePercent",
    "weightedAvgPrice",
    "prevClosePrice",
    "lastPrice",
    "lastQty",
    "bidPrice",
    "bidQty",
    "askPrice",
    "askQty",
    "openPrice",
    "highPrice",
    "lowPrice",
    "volume",
    "quoteVolume",
    "openTime",
    "closeTime",
    "firstId",
    "lastId",
    "count",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def test_klines_rows_are_binance_shaped_and_end_with_the_running_candle(client: TestClient) -> None:
    response = client.get("/binance/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1h", "limit": 5})
    assert response.headers["X-MBX-USED-WEIGHT-1M"].isdigit()
    rows = response.json()
    assert len(rows) == 5 and [type(value) for value in rows[0]] == KLINE_ROW_TYPES
    now = int(time.time() * 1000)
    assert rows[-1][0] <= now <= rows[-1][6] and rows[-2][6] < now
    assert all(float(row[3]) <= min(float(row[1]), float(row[4])) for row in rows)  # low under open and close


def test_klines_from_start_time_and_finer_timeframes(client: TestClient) -> None:
    start = (int(time.time() * 1000) // 3_600_000 - 10) * 3_600_000
    rows = client.get(
        "/binance/api/v3/klines", params={"symbol": "ETHUSDT", "interval": "15m", "startTime": start, "limit": 4}
    ).json()
    assert [row[0] for row in rows] == [start + i * 900_000 for i in range(4)]


@pytest.mark.parametrize(
    "params, code",
    [
        ({"symbol": "NOPEUSDT", "interval": "1h"}, -1121),
        ({"symbol": "BTCUSDT", "interval": "7m"}, -1120),
        ({"symbol": "BTCUSDT", "interval": "1h", "limit": 5000}, -1130),
        ({"interval": "1h"}, -1102),
    ],
)
def test_errors_use_binance_codes(client: TestClient, params: dict[str, object], code: int) -> None:
    response = client.get("/binance/api/v3/klines", params=params)
    assert response.status_code == 400 and response.json()["code"] == code


def test_ticker_24h_single_and_list_and_book_ticker(client: TestClient) -> None:
    single = client.get("/binance/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"}).json()
    assert set(single) == TICKER_FIELDS and float(single["bidPrice"]) < float(single["askPrice"])
    listed = client.get("/binance/api/v3/ticker/24hr", params={"symbols": '["BTCUSDT","ETHUSDT"]'}).json()
    assert [row["symbol"] for row in listed] == ["BTCUSDT", "ETHUSDT"]
    book = client.get("/binance/api/v3/ticker/bookTicker", params={"symbol": "ETHUSDT"}).json()
    assert set(book) == {"symbol", "bidPrice", "bidQty", "askPrice", "askQty"}


def test_depth_trades_and_exchange_info(client: TestClient) -> None:
    depth = client.get("/binance/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 10}).json()
    bids = [float(price) for price, _ in depth["bids"]]
    assert len(bids) == 10 and bids == sorted(bids, reverse=True) and bids[0] < float(depth["asks"][0][0])
    assert client.get("/binance/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 7}).status_code == 400
    trades = client.get("/binance/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 9}).json()
    assert len(trades) == 9 and [trade["id"] for trade in trades] == sorted(trade["id"] for trade in trades)
    info = client.get("/binance/api/v3/exchangeInfo").json()
    btc = next(row for row in info["symbols"] if row["symbol"] == "BTCUSDT")
    assert {item["filterType"] for item in btc["filters"]} >= {"PRICE_FILTER", "LOT_SIZE"}
    assert len(info["symbols"]) > 400


def test_combined_stream_sends_each_subscribed_stream(client: TestClient) -> None:
    streams = "btcusdt@trade/btcusdt@ticker/btcusdt@kline_1m/ethusdt@bookTicker"
    seen: dict[str, dict[str, object]] = {}
    with client.websocket_connect(f"/binance-ws/stream?streams={streams}") as socket:
        while len(seen) < 4:
            message = json.loads(socket.receive_text())
            seen.setdefault(message["stream"], message["data"])
    assert seen["btcusdt@trade"]["e"] == "trade" and isinstance(seen["btcusdt@trade"]["m"], bool)
    assert seen["btcusdt@ticker"]["e"] == "24hrTicker"
    assert seen["btcusdt@kline_1m"]["k"]["i"] == "1m"  # type: ignore[index]
    assert set(seen["ethusdt@bookTicker"]) == {"u", "s", "b", "B", "a", "A"}


def test_live_subscribe_protocol_and_bad_requests(client: TestClient) -> None:
    with client.websocket_connect("/binance-ws/ws") as socket:
        socket.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@miniTicker"], "id": 1}))
        assert json.loads(socket.receive_text()) == {"result": None, "id": 1}
        assert json.loads(socket.receive_text())["e"] == "24hrMiniTicker"
        socket.send_text(json.dumps({"method": "SUBSCRIBE", "params": ["nope@trade"], "id": 2}))
        replies = [json.loads(socket.receive_text()) for _ in range(3)]
        assert any(reply.get("id") == 2 and "error" in reply for reply in replies)


def test_drop_switch_closes_streams(client: TestClient) -> None:
    client.post("/_sandbox/faults", json={"upstream": "binance-ws", "mode": "drop_ws"})
    try:
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/binance-ws/ws/btcusdt@trade") as socket:
            socket.receive_text()
    finally:
        client.delete("/_sandbox/faults")
