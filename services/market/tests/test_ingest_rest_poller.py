"""The REST fallback: Binance's 24 h and book ticker bodies → events, weights, and the budget-sized interval."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from market_service.ingest.binance_stream import LinkState
from market_service.ingest.rest_poller import (
    RestPoller,
    book_ticker_weight,
    parse_book_tickers,
    parse_tickers_24h,
    poll_interval_s,
    ticker_24h_weight,
)
from market_service.ingest.worker import poll_while_down
from suite_shared.messages.market import BookEvent, MarketEvent, TickerEvent
from suite_shared.symbols import Pair
from suite_shared.upstream import UpstreamClient, UpstreamConfig

PAIRS = {"BTCUSDT": Pair("BTC", "USDT"), "ETHUSDT": Pair("ETH", "USDT")}
RECEIVED = 1_700_000_000_500
TICKER_24H = [
    {
        "symbol": "BTCUSDT",
        "priceChange": "-562.49",
        "priceChangePercent": "-1.497",
        "weightedAvgPrice": "37120.1",
        "prevClosePrice": "37568.0",
        "lastPrice": "37005.51",
        "lastQty": "0.01",
        "bidPrice": "37005.50",
        "bidQty": "3.1",
        "askPrice": "37005.51",
        "askQty": "0.7",
        "openPrice": "37568.0",
        "highPrice": "37800.0",
        "lowPrice": "36500.0",
        "volume": "8913.3",
        "quoteVolume": "329800000.5",
        "openTime": 1699913600000,
        "closeTime": 1700000000000,
        "firstId": 1,
        "lastId": 9,
        "count": 9,
    },
    {"symbol": "LTCUSDT", "lastPrice": "70.1"},
]
BOOK_TICKER = [
    {"symbol": "BTCUSDT", "bidPrice": "37005.50", "bidQty": "3.1", "askPrice": "37005.51", "askQty": "0.7"},
    {"symbol": "ETHUSDT", "bidPrice": "2049.99", "bidQty": "10.0", "askPrice": "2050.00", "askQty": "4.2"},
]


def test_24h_tickers_become_ticker_events_marked_as_rest() -> None:
    events = parse_tickers_24h(TICKER_24H, PAIRS, RECEIVED)
    assert events == [
        TickerEvent(
            symbol="BTC/USDT",
            price=37005.51,
            change_24h=-1.497,
            volume_24h=329800000.5,
            high_24h=37800.0,
            low_24h=36500.0,
            bid=37005.5,
            ask=37005.51,
            timestamp=1700000000000,
            received_at=RECEIVED,
            source="binance-rest",
        )
    ]


def test_book_tickers_become_top_of_book_events() -> None:
    events = parse_book_tickers(BOOK_TICKER, PAIRS, RECEIVED)
    assert [event.symbol for event in events] == ["BTC/USDT", "ETH/USDT"]
    assert events[1] == BookEvent(
        symbol="ETH/USDT",
        bids=[(2049.99, 10.0)],
        asks=[(2050.0, 4.2)],
        timestamp=RECEIVED,
        received_at=RECEIVED,
        source="binance-rest",
    )


def test_weights_follow_binance_and_twenty_pairs_stay_well_inside_the_budget() -> None:
    assert [ticker_24h_weight(n) for n in (1, 20, 21, 100, 101)] == [2, 2, 40, 40, 80]
    assert [book_ticker_weight(n) for n in (1, 2, 20)] == [2, 4, 4]
    interval = poll_interval_s(ticker_24h_weight(20) + book_ticker_weight(20), 1200)
    assert interval >= 3.0
    assert 60 / interval * 6 <= 0.1 * 1200
    many = poll_interval_s(ticker_24h_weight(21) + book_ticker_weight(21), 1200)
    assert 60 / many * 44 <= 0.1 * 1200 + 1e-9


async def test_a_poll_round_asks_for_all_pairs_at_once_and_spends_their_weight() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = TICKER_24H if request.url.path.endswith("/24hr") else BOOK_TICKER
        return httpx.Response(200, content=orjson.dumps(body))

    client = UpstreamClient(None, transport=httpx.MockTransport(handler))
    client.register(UpstreamConfig("binance", "https://api.binance.test", budget=1200))
    poller = RestPoller(client, list(PAIRS.values()), budget_per_min=1200)
    events = await poller.poll_once()
    await client.close()
    assert [type(event).__name__ for event in events] == ["TickerEvent", "BookEvent", "BookEvent"]
    assert {request.url.params["symbols"] for request in seen} == {'["BTCUSDT","ETHUSDT"]'}
    assert await client.budgets["binance"].spend(0) == 1200 - 2 - 4  # counted locally: no Redis here


async def test_a_failing_call_costs_its_events_but_not_the_round() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/24hr"):
            return httpx.Response(503)
        return httpx.Response(200, content=orjson.dumps(BOOK_TICKER))

    client = UpstreamClient(None, retries=0, transport=httpx.MockTransport(handler))
    client.register(UpstreamConfig("binance", "https://api.binance.test", budget=1200))
    events = await RestPoller(client, list(PAIRS.values()), budget_per_min=1200).poll_once()
    await client.close()
    assert [event.source for event in events] == ["binance-rest", "binance-rest"]


class CountingPoller:
    interval_s = 0.05

    def __init__(self) -> None:
        self.rounds = 0

    async def poll_once(self) -> list[MarketEvent]:
        self.rounds += 1
        return [TickerEvent(symbol="BTC/USDT", price=1.0, timestamp=1, received_at=1, source="binance-rest")]


async def test_polling_starts_after_the_grace_period_and_stops_when_the_socket_is_back() -> None:
    link, poller = LinkState(), CountingPoller()
    delivered: list[MarketEvent] = []
    states: list[bool] = []
    task = asyncio.create_task(poll_while_down(link, poller, delivered.append, states.append, grace_s=0.1))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert poller.rounds == 0  # still inside the grace period
    await asyncio.sleep(0.25)
    assert poller.rounds >= 2 and states == [True]
    link.mark_up()
    await asyncio.sleep(0.05)
    rounds = poller.rounds
    await asyncio.sleep(0.15)
    assert poller.rounds == rounds and states == [True, False]
    link.mark_down()
    link.mark_up()  # a blip shorter than the grace period costs no REST call
    await asyncio.sleep(0.15)
    assert poller.rounds == rounds
    task.cancel()
    assert len(delivered) == rounds


pytestmark = pytest.mark.timeout(30)
