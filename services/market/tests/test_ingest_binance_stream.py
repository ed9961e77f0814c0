"""Binance stream parsing on frames in Binance's documented formats, stream naming and reconnect backoff."""

from __future__ import annotations

import json
from typing import Any

import pytest

from market_service.ingest.binance_stream import (
    Backoff,
    MalformedMessage,
    combined_stream_url,
    parse_message,
    stream_names,
)
from suite_shared.messages.market import BookEvent, CandleEvent, TickerEvent, TradeEvent
from suite_shared.symbols import Pair

BTC = Pair("BTC", "USDT")
PAIRS = {"BTCUSDT": BTC, "ETHUSDT": Pair("ETH", "USDT")}
RECEIVED = 1_700_000_000_500

TRADE = {
    "e": "trade",
    "E": 1700000000123,
    "s": "BTCUSDT",
    "t": 3301234567,
    "p": "37005.51000000",
    "q": "0.01250000",
    "T": 1700000000120,
    "m": True,
    "M": True,
}
AGG_TRADE = {
    "e": "aggTrade",
    "E": 1700000000130,
    "s": "BTCUSDT",
    "a": 2719876543,
    "p": "37005.52000000",
    "q": "0.50000000",
    "f": 3301234568,
    "l": 3301234570,
    "T": 1700000000129,
    "m": False,
    "M": True,
}
TICKER = {
    "e": "24hrTicker",
    "E": 1700000000200,
    "s": "BTCUSDT",
    "p": "-562.49000000",
    "P": "-1.497",
    "w": "37120.10",
    "x": "37568.00",
    "c": "37005.51000000",
    "Q": "0.0125",
    "b": "37005.50000000",
    "B": "3.1",
    "a": "37005.51000000",
    "A": "0.7",
    "o": "37568.00000000",
    "h": "37800.00000000",
    "l": "36500.00000000",
    "v": "8913.30000000",
    "q": "329800000.50000000",
    "O": 1699913600200,
    "C": 1700000000200,
    "F": 3300000000,
    "L": 3301234567,
    "n": 1234568,
}
MINI_TICKER = {
    "e": "24hrMiniTicker",
    "E": 1700000000300,
    "s": "ETHUSDT",
    "c": "2050.00",
    "o": "2000.00",
    "h": "2075.00",
    "l": "1980.00",
    "v": "150000.0",
    "q": "305000000.0",
}
BOOK_TICKER = {
    "u": 40090021712,
    "s": "BTCUSDT",
    "b": "37005.50000000",
    "B": "3.10000000",
    "a": "37005.51000000",
    "A": "0.70000000",
}


def kline(closed: bool) -> dict[str, Any]:
    return {
        "e": "kline",
        "E": 1700000040001,
        "s": "BTCUSDT",
        "k": {
            "t": 1699999980000,
            "T": 1700000039999,
            "s": "BTCUSDT",
            "i": "1m",
            "f": 100,
            "L": 200,
            "o": "37000.00",
            "c": "37005.51",
            "h": "37010.00",
            "l": "36990.00",
            "v": "12.5",
            "n": 101,
            "x": closed,
            "q": "462500.0",
            "V": "6.0",
            "Q": "222000.0",
            "B": "0",
        },
    }


def combined(stream: str, data: dict[str, Any]) -> str:
    return json.dumps({"stream": stream, "data": data})


def test_trade_with_buyer_as_maker_is_a_taker_sell() -> None:
    event = parse_message(combined("btcusdt@trade", TRADE), RECEIVED, PAIRS)
    assert event == TradeEvent(
        symbol="BTC/USDT",
        id="3301234567",
        price=37005.51,
        amount=0.0125,
        side="sell",
        timestamp=1700000000120,
        received_at=RECEIVED,
        source="binance",
    )


def test_trade_with_buyer_as_taker_is_a_buy_and_aggregate_trades_use_their_own_id() -> None:
    event = parse_message(combined("btcusdt@aggTrade", AGG_TRADE), RECEIVED, PAIRS)
    assert isinstance(event, TradeEvent)
    assert (event.side, event.id, event.amount) == ("buy", "2719876543", 0.5)


def test_full_ticker_carries_change_quote_volume_and_best_prices() -> None:
    event = parse_message(combined("btcusdt@ticker", TICKER), RECEIVED, PAIRS)
    assert event == TickerEvent(
        symbol="BTC/USDT",
        price=37005.51,
        change_24h=-1.497,
        volume_24h=329800000.5,
        high_24h=37800.0,
        low_24h=36500.0,
        bid=37005.5,
        ask=37005.51,
        timestamp=1700000000200,
        received_at=RECEIVED,
        source="binance",
    )


def test_mini_ticker_change_is_computed_from_the_open_and_best_prices_stay_unknown() -> None:
    event = parse_message(combined("ethusdt@miniTicker", MINI_TICKER), RECEIVED, PAIRS)
    assert isinstance(event, TickerEvent)
    assert event.symbol == "ETH/USDT"
    assert event.change_24h == pytest.approx(2.5)
    assert (event.bid, event.ask, event.volume_24h) == (None, None, 305000000.0)


@pytest.mark.parametrize("closed", [False, True])
def test_kline_keeps_open_time_and_the_closed_flag(closed: bool) -> None:
    event = parse_message(combined("btcusdt@kline_1m", kline(closed)), RECEIVED, PAIRS)
    assert event == CandleEvent(
        symbol="BTC/USDT",
        timeframe="1m",
        t=1699999980000,
        o=37000.0,
        h=37010.0,
        l=36990.0,
        c=37005.51,
        v=12.5,
        closed=closed,
        timestamp=1700000040001,
        received_at=RECEIVED,
        source="binance",
    )


def test_book_ticker_has_no_event_time_so_the_receipt_time_stands_in() -> None:
    event = parse_message(combined("btcusdt@bookTicker", BOOK_TICKER), RECEIVED, PAIRS)
    assert event == BookEvent(
        symbol="BTC/USDT",
        bids=[(37005.5, 3.1)],
        asks=[(37005.51, 0.7)],
        timestamp=RECEIVED,
        received_at=RECEIVED,
        source="binance",
    )


def test_raw_stream_frames_without_the_combined_wrapper_parse_too() -> None:
    event = parse_message(json.dumps(TRADE).encode(), RECEIVED, PAIRS)
    assert isinstance(event, TradeEvent)


@pytest.mark.parametrize(
    "frame",
    [
        '{"result": null, "id": 1}',
        combined("xrpusdt@trade", {**TRADE, "s": "XRPUSDT"}),
        combined("btcusdt@depth@100ms", {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 1, "u": 2, "b": [], "a": []}),
        '{"e": "serverShutdown", "E": 1700000000000}',
    ],
)
def test_frames_without_an_event_for_us_are_skipped(frame: str) -> None:
    assert parse_message(frame, RECEIVED, PAIRS) is None


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        combined("btcusdt@trade", {**TRADE, "p": "abc"}),
        combined("btcusdt@kline_1m", {"e": "kline", "E": 1, "s": "BTCUSDT"}),
    ],
)
def test_broken_frames_raise_malformed_message(frame: str) -> None:
    with pytest.raises(MalformedMessage):
        parse_message(frame, RECEIVED, PAIRS)


def test_stream_names_cover_trades_tickers_books_and_candles_per_pair() -> None:
    names = stream_names([BTC, Pair("ETH", "USDT")])
    assert set(names) == {
        "btcusdt@trade",
        "btcusdt@ticker",
        "btcusdt@bookTicker",
        "btcusdt@kline_1m",
        "ethusdt@trade",
        "ethusdt@ticker",
        "ethusdt@bookTicker",
        "ethusdt@kline_1m",
    }
    assert combined_stream_url("wss://stream.binance.com:9443/", names[:2]) == (
        "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@ticker"
    )


def test_more_streams_than_one_connection_allows_are_refused() -> None:
    pairs = [Pair(f"A{index}", "USDT") for index in range(257)]
    with pytest.raises(ValueError, match="1024"):
        stream_names(pairs)


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    backoff = Backoff(base_s=0.5, cap_s=10.0)
    delays = [backoff.next_delay() for _ in range(40)]
    for attempt, delay in enumerate(delays):
        ceiling = min(10.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling
    assert max(delays) <= 10.0
    assert len({round(delay, 6) for delay in delays[10:]}) > 1  # jittered, not a fixed cap


def test_backoff_starts_over_after_reset() -> None:
    backoff = Backoff(base_s=0.5, cap_s=10.0)
    for _ in range(6):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 0.5
