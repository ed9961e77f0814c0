"""Client messages: the contract's and the Dreammaker frontend's subscribe spellings, and their frames."""

from __future__ import annotations

import orjson
import pytest

from stream_service.channels import FEEDS
from stream_service.protocol import ProtocolError, Subscription, parse_message
from suite_shared.messages.ai import Signal, SignalIndicators
from suite_shared.messages.market import TickerEvent

STREAMED = frozenset({"BTC/USDT", "ETH/USDT"})


def parse(message: object, implied: str | None = None) -> object:
    return parse_message(orjson.dumps(message), implied, STREAMED)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"action": "subscribe", "channel": "ticker", "symbols": ["btcusdt"]}, ("subscribe", "ticker", ("BTC/USDT",))),
        (
            {"action": "subscribe", "type": "market_data", "symbols": ["BTCUSDT"]},
            ("subscribe", "market_data", ("BTC/USDT",)),
        ),
        ({"action": "subscribe", "type": "signal_update", "symbols": []}, ("subscribe", "signal_update", ())),
        ({"type": "subscribe", "topic": "price_update"}, ("subscribe", "price_update", ())),
        ({"type": "unsubscribe", "topic": "price_update"}, ("unsubscribe", "price_update", ())),
        ({"type": "subscribe", "symbol": "BTCUSDT"}, ("subscribe", "signal_update", ("BTC/USDT",))),
    ],
)
def test_contract_and_frontend_spellings_subscribe_to_a_feed(message: object, expected: tuple[object, ...]) -> None:
    assert parse(message) == Subscription(*expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": "subscribe", "topic": "scoring_snapshot"}, "UNKNOWN_CHANNEL"),
        ({"action": "subscribe", "type": "health"}, "UNKNOWN_CHANNEL"),
        ({"action": "unsubscribe", "id": "market_data_1"}, "UNKNOWN_CHANNEL"),
        ({"type": "subscribe"}, "UNKNOWN_ACTION"),
        ({"type": "subscribe", "symbol": 5}, "INVALID_MESSAGE"),
        ({"action": "subscribe", "type": "market_data", "symbols": ["DOGEUSDT"]}, "INVALID_SYMBOL"),
        ({"action": "subscribe", "channel": "ticker"}, "INVALID_SYMBOL"),  # the contract's market channels need pairs
    ],
)
def test_unknown_spellings_get_the_contracts_errors(message: object, code: str) -> None:
    with pytest.raises(ProtocolError) as error:
        parse(message)
    assert error.value.code == code


def test_an_alias_on_a_single_channel_path_must_be_of_that_channel() -> None:
    assert parse({"type": "subscribe", "topic": "price_update"}, implied="ticker") == Subscription(
        "subscribe", "price_update", ()
    )
    with pytest.raises(ProtocolError):
        parse({"type": "subscribe", "symbol": "BTCUSDT"}, implied="ticker")


def test_one_ticker_framed_for_the_contract_and_for_the_frontend() -> None:
    event = TickerEvent(
        symbol="BTC/USDT", timestamp=1, received_at=2, source="binance", price=100.5, change_24h=-1.25, volume_24h=9.0
    )
    contract = orjson.loads(FEEDS["ticker"].head(event) + ',"seq":7}')
    assert contract == {
        "channel": "ticker",
        "data": {"symbol": "BTC/USDT", "price": 100.5, "change_24h": -1.25, "volume_24h": 9.0, "timestamp": 1},
        "seq": 7,
    }
    for kind in ("market_data", "price_update"):
        frame = orjson.loads(FEEDS[kind].head(event) + ',"seq":7}')
        assert frame["type"] == kind and frame["symbol"] == "BTCUSDT" and frame["pair"] == "BTC/USDT"
        assert frame["price"] == 100.5 and frame["changePercent24h"] == -1.25 and frame["seq"] == 7
        assert frame["high24h"] is None  # not in this event: null, never made up


def test_a_signal_framed_as_the_signal_views_stages() -> None:
    signal = Signal(
        id="s1",
        symbol="ETH/USDT",
        type="sell",
        confidence=0.61,
        score=2.5,
        timeframe="1h",
        entry_price=2000.0,
        target_price=1900.0,
        stop_loss=2050.0,
        risk_reward=2.0,
        model="forecast",
        model_version="1",
        reasoning=["median below", "rsi high"],
        indicators=SignalIndicators(rsi=71.0, macd={"histogram": -3.0}, volume_profile={}, atr=30.0),
        forecast={"z50": -0.4},
        timestamp=1_700_000_000_000,
        expires_at=1_700_003_600_000,
    )
    frame = orjson.loads(FEEDS["signal_update"].head(signal) + ',"seq":1}')
    assert frame["type"] == "signal_update" and frame["symbol"] == "ETHUSDT"
    data = frame["data"]
    assert data["price"] == 2000.0 and data["timestamp"] == "2023-11-14T22:13:20Z"
    assert set(data["stages"]) == {f"stage{n}" for n in range(1, 9)}
    assert data["stages"]["stage1"]["status"] == "completed"
    assert data["stages"]["stage3"] == {"status": "idle", "progress": 0, "detectors": {}}  # we run no detectors
    assert data["stages"]["stage4"]["rsi"] == 71.0 and data["stages"]["stage4"]["macd"] == -3.0
    assert data["stages"]["stage8"] == {"status": "completed", "progress": 100, "signal": "SELL", "confidence": 0.61}
    assert data["decision"] == {"signal": "SHORT", "confidence": 0.61, "reason": "median below; rsi high"}
