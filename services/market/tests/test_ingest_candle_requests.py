"""market.candles.get and market.stats.get answers (the REST routes' data, error objects for bad requests) and
the ingest settings, with the upstreams mocked at the HTTP edge and no NATS or Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from market_service.app import create_app
from market_service.responders import answer_candles
from suite_shared.bus import Bus
from suite_shared.messages.market import CandlesReply, CandlesRequest
from suite_shared.settings import Settings
from suite_shared.symbols import Pair
from suite_shared.topics import MARKET_CANDLES_GET

MINUTE = 60_000
EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1,
    "rateLimits": [],
    "exchangeFilters": [],
    "symbols": [
        {"symbol": f"{base}USDT", "status": "TRADING", "baseAsset": base, "quoteAsset": "USDT", "filters": []}
        for base in ("BTC", "ETH")
    ],
}


def klines(limit: int) -> list[list[Any]]:
    now = int(time.time() * 1000)
    start = (now // MINUTE - limit + 1) * MINUTE  # the newest row is the unfinished current minute
    return [
        [
            start + i * MINUTE,
            "100.0",
            "110.0",
            "90.0",
            f"{100 + i}.0",
            "5.5",
            start + (i + 1) * MINUTE - 1,
            "550.0",
            10,
            "2.0",
            "200.0",
            "0",
        ]
        for i in range(limit)
    ]


def binance(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v3/exchangeInfo":
        return httpx.Response(200, json=EXCHANGE_INFO)
    if request.url.path == "/api/v3/klines":
        return httpx.Response(200, json=klines(int(request.url.params["limit"])))
    return httpx.Response(404)


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = Settings(
        redis_url="redis://127.0.0.1:9/0",
        nats_url="nats://127.0.0.1:9",
        upstream_retries=0,
        binance_base_url="https://binance.test",
        kraken_base_url="https://kraken.test",
    )
    with TestClient(create_app(settings, transport=httpx.MockTransport(binance))) as test_client:
        yield test_client


def ask(client: TestClient, body: Any) -> CandlesReply:
    """The reply `Bus.serve` would send for this request body."""
    app: Any = client.app

    async def handler(request: CandlesRequest) -> CandlesReply:
        return await answer_candles(app.state.context, app.state.context.state.chains, request)

    data = orjson.dumps(body) if not isinstance(body, bytes) else body
    reply: CandlesReply = client.portal.call(Bus.answer, MARKET_CANDLES_GET, handler, data)  # type: ignore[union-attr]
    return reply


def test_closed_candles_come_back_like_the_rest_route(client: TestClient) -> None:
    reply = ask(client, {"symbol": "btcusdt", "timeframe": "1m", "limit": 5})
    assert reply.error is None and reply.symbol == "BTC/USDT" and reply.source == "binance"
    assert len(reply.data) == 5
    now = int(time.time() * 1000)
    assert all(row.t + MINUTE <= now for row in reply.data)  # the unfinished minute is never served
    rest = client.get("/api/ohlcv", params={"symbol": "BTC/USDT", "timeframe": "1m", "limit": 5}).json()
    assert [row.model_dump() for row in reply.data] == rest["data"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"symbol": "NOPE/USDT", "timeframe": "1h"}, "INVALID_SYMBOL"),
        ({"symbol": "BTC/USDT", "timeframe": "2h"}, "VALIDATION_ERROR"),
        ({"symbol": "BTC/USDT", "timeframe": "1h", "limit": 0}, "INVALID_PARAMETER"),
        ({"symbol": "BTC/USDT", "timeframe": "1h", "since": 10, "until": 5}, "INVALID_PARAMETER"),
        ({"timeframe": "1h"}, "VALIDATION_ERROR"),
        (["not", "an", "object"], "VALIDATION_ERROR"),
        (b"not json at all", "VALIDATION_ERROR"),
    ],
)
def test_bad_requests_get_an_error_object(client: TestClient, body: Any, code: str) -> None:
    reply = ask(client, body)
    assert reply.error is not None and reply.error.code == code and reply.data == []


def test_ingest_symbols_accept_any_spelling_once_each() -> None:
    settings = Settings(ingest_symbols="btcusdt, ETH/USDT,,BTC-USDT, sol")
    assert settings.ingest_symbols == (Pair("BTC", "USDT"), Pair("ETH", "USDT"), Pair("SOL", "USDT"))


def test_a_malformed_ingest_symbol_is_refused_at_start_naming_it() -> None:
    with pytest.raises(ValidationError, match="'bad!!' is not a pair"):
        Settings(ingest_symbols="btcusdt, bad!!")


def test_default_ingest_symbols_are_twenty_usdt_pairs() -> None:
    pairs = Settings().ingest_symbols
    assert len(pairs) == 20 and {pair.quote for pair in pairs} == {"USDT"}


def test_health_reports_ingest_disabled_when_switched_off() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:9/0", nats_url="nats://127.0.0.1:9", ingest_enabled=False)
    with TestClient(create_app(settings, transport=httpx.MockTransport(binance))) as test_client:
        ingest = test_client.get("/health").json()["dependencies"]["ingest"]
    assert ingest == {"status": "up", "critical": False, "detail": {"state": "disabled"}}
