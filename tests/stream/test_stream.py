"""The WebSocket surface through the real gateway, fed by real NATS: protocol, snapshot, seq, errors,
heartbeat, and a slow client not delaying a fast one."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from harness import Suite, hour_closing_candle
from suite_shared.bus import Bus
from suite_shared.envelope import now_ms
from suite_shared.messages.market import TickerEvent, TradeEvent
from suite_shared.topics import MARKET_CANDLE, MARKET_TICKER, MARKET_TRADE

PAIR = "TEST/USDT"


def ws_url(suite: Suite, path: str = "/ws") -> str:
    return suite.gateway_url.replace("http://", "ws://") + path


async def next_of(socket: Any, kind: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The next message of `kind` (a `type` or a data `channel`), skipping heartbeats and others."""
    deadline = time.monotonic() + timeout_s
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic())))
        if message.get("type") == kind or message.get("channel") == kind:
            return message  # type: ignore[no-any-return]


@pytest.fixture
async def bus(suite: Suite) -> AsyncIterator[Bus]:
    connected = Bus(suite.env.values["NATS_URL"], "stream-test")
    connected.start()
    assert await connected.wait_connected(5)
    yield connected
    await connected.close()


def ticker(price: float) -> TickerEvent:
    now = now_ms()
    return TickerEvent(
        symbol=PAIR, price=price, change_24h=1.5, volume_24h=1000.0, timestamp=now, received_at=now, source="binance"
    )


async def test_connect_subscribe_snapshot_then_live_ticks_in_seq_order(suite: Suite, bus: Bus) -> None:
    client = aioredis.Redis.from_url(suite.env.values["CACHE_REDIS_URL"])  # where the market service keeps them
    await client.set(f"latest:ticker:{PAIR}", ticker(99.0).model_dump_json())
    await client.aclose()
    async with websockets.connect(ws_url(suite)) as socket:
        hello = json.loads(await socket.recv())
        assert {key: hello[key] for key in ("type", "status", "channels")} == {
            "type": "connection",
            "status": "connected",
            "channels": ["ticker", "trades", "candles", "orderbook", "news", "signals"],
        }
        assert len(hello["session"]) >= 16 and hello["resume_window_s"] == 60
        await socket.send(json.dumps({"action": "subscribe", "channel": "ticker", "symbols": ["test-usdt"]}))
        assert (await next_of(socket, "subscribed"))["symbols"] == [PAIR]
        snapshot = await next_of(socket, "ticker")
        assert snapshot["data"]["price"] == 99.0 and set(snapshot["data"]) == {
            "symbol",
            "price",
            "change_24h",
            "volume_24h",
            "timestamp",
        }
        for price in (100.0, 101.0, 102.0):
            await bus.publish(MARKET_TICKER, ticker(price), subject="market.ticker.testusdt")
            await asyncio.sleep(0.05)
        live = [await next_of(socket, "ticker") for _ in range(3)]
        assert [message["data"]["price"] for message in live] == [100.0, 101.0, 102.0]
        seqs = [snapshot["seq"]] + [message["seq"] for message in live]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4


async def test_path_implies_the_channel_and_unsubscribe_stops_data(suite: Suite, bus: Bus) -> None:
    async with websockets.connect(ws_url(suite, "/ws/trades")) as socket:
        assert json.loads(await socket.recv())["channels"] == ["trades"]
        await socket.send(json.dumps({"action": "subscribe", "symbols": [PAIR]}))
        await next_of(socket, "subscribed")
        now = now_ms()
        trade = TradeEvent(
            symbol=PAIR, id="7", price=5.0, amount=2.0, side="buy", timestamp=now, received_at=now, source="binance"
        )
        await bus.publish(MARKET_TRADE, trade, subject="market.trade.testusdt")
        data = (await next_of(socket, "trades"))["data"]
        assert {key: data[key] for key in ("symbol", "price", "amount", "side")} == {
            "symbol": PAIR,
            "price": 5.0,
            "amount": 2.0,
            "side": "buy",
        }
        await socket.send(json.dumps({"action": "unsubscribe", "symbols": [PAIR]}))
        await next_of(socket, "unsubscribed")
        await bus.publish(MARKET_TRADE, trade, subject="market.trade.testusdt")
        with pytest.raises(asyncio.TimeoutError):
            await next_of(socket, "trades", timeout_s=1.0)


async def test_ping_pong_and_heartbeat(suite: Suite) -> None:
    async with websockets.connect(ws_url(suite)) as socket:
        await socket.send(json.dumps({"type": "ping"}))
        assert isinstance((await next_of(socket, "pong"))["timestamp"], int)
        assert (await next_of(socket, "heartbeat", timeout_s=3.0))["type"] == "heartbeat"


@pytest.mark.parametrize(
    "message, code",
    [
        ("not json", "INVALID_JSON"),
        ("[1, 2]", "INVALID_MESSAGE"),
        (json.dumps({"action": "dance"}), "UNKNOWN_ACTION"),
        (json.dumps({"action": "subscribe", "channel": "weather", "symbols": ["BTC"]}), "UNKNOWN_CHANNEL"),
        (json.dumps({"action": "subscribe", "channel": "ticker", "symbols": ["NOPE/USDT"]}), "INVALID_SYMBOL"),
        (json.dumps({"action": "subscribe", "channel": "ticker", "symbols": ["B$D"]}), "INVALID_SYMBOL"),
        (json.dumps({"action": "subscribe", "channel": "ticker"}), "INVALID_SYMBOL"),
        (json.dumps({"action": "subscribe", "channel": "ticker", "symbols": "BTC"}), "INVALID_MESSAGE"),
        ("x" * 5000, "MESSAGE_TOO_LARGE"),
        (json.dumps({"action": "resume", "session": "short", "last_seq": 1}), "INVALID_MESSAGE"),
        (json.dumps({"action": "resume", "session": "abcdefghijkl", "last_seq": -1}), "INVALID_MESSAGE"),
        (json.dumps({"action": "resume", "session": "abcdefghijkl", "last_seq": "7"}), "INVALID_MESSAGE"),
    ],
)
async def test_bad_messages_get_an_error_and_the_connection_stays_open(suite: Suite, message: str, code: str) -> None:
    async with websockets.connect(ws_url(suite)) as socket:
        await socket.recv()
        await socket.send(message)
        error = await next_of(socket, "error")
        assert error["error"]["code"] == code and error["error"]["message"]
        await socket.send(json.dumps({"type": "ping"}))
        await next_of(socket, "pong")


async def test_too_many_subscriptions_and_too_many_messages(suite: Suite) -> None:
    async with websockets.connect(ws_url(suite)) as socket:
        await socket.recv()
        for batch in range(3):
            symbols = [f"NEWS{batch}X{i}" for i in range(40)]
            await socket.send(json.dumps({"action": "subscribe", "channel": "news", "symbols": symbols}))
        assert (await next_of(socket, "error"))["error"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        for _ in range(60):
            await socket.send(json.dumps({"type": "ping"}))
        assert (await next_of(socket, "error"))["error"]["code"] == "RATE_LIMITED"


async def test_a_client_that_never_reads_does_not_delay_a_fast_one(suite: Suite, bus: Bus) -> None:
    subscribe = json.dumps({"action": "subscribe", "channel": "trades", "symbols": [PAIR]})
    async with websockets.connect(ws_url(suite), max_queue=1) as slow, websockets.connect(ws_url(suite)) as fast:
        for socket in (slow, fast):
            await socket.send(subscribe)
            await next_of(socket, "subscribed")
        now = now_ms()
        padding = "x" * 2000  # big frames fill the slow client's socket buffers quickly
        started = time.monotonic()
        for index in range(600):
            await bus.publish(
                MARKET_TRADE,
                TradeEvent(
                    symbol=PAIR,
                    id=f"{index}-{padding}",
                    price=1.0,
                    amount=1.0,
                    side="sell",
                    timestamp=now,
                    received_at=now,
                    source="binance",
                ),
                subject="market.trade.testusdt",
            )
        last_seen = ""
        while not last_seen.startswith("599-"):
            last_seen = (await next_of(fast, "trades", timeout_s=5.0))["data"]["id"]
        assert time.monotonic() - started < 5.0


def trade(index: int) -> TradeEvent:
    now = now_ms()
    return TradeEvent(
        symbol=PAIR,
        id=str(index),
        price=float(index),
        amount=1.0,
        side="buy",
        timestamp=now,
        received_at=now,
        source="binance",
    )


async def subscribed_session(suite: Suite, channel: str) -> tuple[Any, str]:
    socket = await websockets.connect(ws_url(suite))
    session = json.loads(await socket.recv())["session"]
    await socket.send(json.dumps({"action": "subscribe", "channel": channel, "symbols": [PAIR]}))
    await next_of(socket, "subscribed")
    return socket, session


async def test_resume_after_reconnect_replays_missed_trades_in_order_without_duplicates(suite: Suite, bus: Bus) -> None:
    socket, session = await subscribed_session(suite, "trades")
    for index in range(3):
        await bus.publish(MARKET_TRADE, trade(index), subject="market.trade.testusdt")
    received = [await next_of(socket, "trades") for _ in range(3)]
    last_seq = received[1]["seq"]  # pretend frame 3 was lost with the connection
    await socket.close()
    await asyncio.sleep(0.3)  # the server notices the close and saves the session
    for index in range(3, 6):
        await bus.publish(MARKET_TRADE, trade(index), subject="market.trade.testusdt")
    await asyncio.sleep(0.3)
    async with websockets.connect(ws_url(suite)) as again:
        await again.recv()
        await again.send(json.dumps({"action": "resume", "session": session, "last_seq": last_seq}))
        resumed = await next_of(again, "resumed")
        assert resumed["session"] == session and resumed["subscriptions"] == {"trades": [PAIR]}
        assert resumed["replayed"] == 4
        await bus.publish(MARKET_TRADE, trade(6), subject="market.trade.testusdt")
        frames = [await next_of(again, "trades") for _ in range(5)]
        assert [frame["data"]["id"] for frame in frames] == ["2", "3", "4", "5", "6"]
        assert [frame["seq"] for frame in frames] == list(range(last_seq + 1, last_seq + 6))
        with pytest.raises(asyncio.TimeoutError):
            await next_of(again, "trades", timeout_s=0.5)


async def test_resume_of_a_ticker_gets_only_the_newest_missed_value(suite: Suite, bus: Bus) -> None:
    socket, session = await subscribed_session(suite, "ticker")
    await bus.publish(MARKET_TICKER, ticker(1.0), subject="market.ticker.testusdt")
    last_seq = (await next_of(socket, "ticker"))["seq"]
    await socket.close()
    await asyncio.sleep(0.3)
    for price in (2.0, 3.0, 4.0):
        await bus.publish(MARKET_TICKER, ticker(price), subject="market.ticker.testusdt")
    await asyncio.sleep(0.3)
    async with websockets.connect(ws_url(suite)) as again:
        await again.recv()
        await again.send(json.dumps({"action": "resume", "session": session, "last_seq": last_seq}))
        assert (await next_of(again, "resumed"))["replayed"] == 1
        frame = await next_of(again, "ticker")
        assert frame["data"]["price"] == 4.0 and frame["seq"] == last_seq + 1


async def test_resume_of_an_unknown_session_or_twice_is_an_explicit_gap(suite: Suite, bus: Bus) -> None:
    socket, session = await subscribed_session(suite, "trades")
    await socket.close()
    await asyncio.sleep(0.3)
    async with websockets.connect(ws_url(suite)) as first:
        await first.recv()
        await first.send(json.dumps({"action": "resume", "session": session, "last_seq": 0}))
        assert (await next_of(first, "resumed"))["replayed"] == 0
    async with websockets.connect(ws_url(suite)) as unknown:
        await unknown.recv()
        await unknown.send(json.dumps({"action": "resume", "session": "nosuchsession123", "last_seq": 4}))
        gap = await next_of(unknown, "gap")
        assert gap["reason"] == "unknown_session" and gap["message"]


async def test_resume_with_more_missed_than_the_replay_bound_says_gap_and_keeps_the_newest(
    suite: Suite, bus: Bus
) -> None:
    socket, session = await subscribed_session(suite, "trades")
    await socket.close()
    await asyncio.sleep(0.3)
    for index in range(250):
        await bus.publish(MARKET_TRADE, trade(1000 + index), subject="market.trade.testusdt")
    await asyncio.sleep(0.5)
    async with websockets.connect(ws_url(suite)) as again:
        await again.recv()
        # The subscription marked the stream position, so even with no frame received all 250 are "missed".
        await again.send(json.dumps({"action": "resume", "session": session, "last_seq": 0}))
        assert (await next_of(again, "resumed"))["replayed"] == 200
        gap = await next_of(again, "gap")
        assert gap == {
            "type": "gap",
            "channels": ["trades"],
            "reason": "too_many_missed",
            "missed": 250,
            "replayed": 200,
        }
        first = await next_of(again, "trades")
        assert first["data"]["id"] == "1050" and first["seq"] == 1


async def connect_when_routed(suite: Suite, timeout_s: float = 20.0) -> Any:
    """A connection once the gateway's health check has the restarted replica back in rotation."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket = await websockets.connect(ws_url(suite))
            await socket.recv()
            return socket
        except (websockets.InvalidStatus, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def test_stream_replica_restart_keeps_sessions_resumable(suite: Suite, bus: Bus) -> None:
    socket, session = await subscribed_session(suite, "trades")
    await bus.publish(MARKET_TRADE, trade(1), subject="market.trade.testusdt")
    last_seq = (await next_of(socket, "trades"))["seq"]
    # A graceful stop (SIGTERM): the server closes the socket and saves the session.
    await asyncio.to_thread(suite.stop, "stream")
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(socket.recv(), 10)
    await bus.publish(MARKET_TRADE, trade(2), subject="market.trade.testusdt")
    await asyncio.to_thread(suite.start, ["stream"])
    async with await connect_when_routed(suite) as again:
        await again.send(json.dumps({"action": "resume", "session": session, "last_seq": last_seq}))
        assert (await next_of(again, "resumed"))["replayed"] == 1
        frame = await next_of(again, "trades")
        assert frame["data"]["id"] == "2" and frame["seq"] == last_seq + 1


async def test_signals_channel_carries_the_ai_signal_built_when_an_hour_closes(suite: Suite, bus: Bus) -> None:
    """A closed 1m candle that ends an hour (published here, as the ingest would) makes the ai service build
    and publish that pair's 1h signal; a WebSocket client subscribed to signals for BTC receives it."""
    async with websockets.connect(ws_url(suite)) as socket:
        await socket.recv()
        await socket.send(json.dumps({"action": "subscribe", "channel": "signals", "symbols": ["BTC"]}))
        await next_of(socket, "subscribed")
        candle = hour_closing_candle()
        not_an_hour = candle.model_copy(update={"t": candle.t - 60_000})
        await bus.publish(MARKET_CANDLE, not_an_hour, subject="market.candle.1m.btcusdt")
        await bus.publish(MARKET_CANDLE, candle, subject="market.candle.1m.btcusdt")
        frame = await next_of(socket, "signals", timeout_s=15.0)
        signal = frame["data"]
        assert signal["symbol"] == "BTC/USDT" and signal["timeframe"] == "1h"
        assert signal["type"] in ("buy", "sell", "hold") and 0 <= signal["confidence"] <= 1
        assert signal["direction"] == signal["type"].upper()
        assert signal["model"] and signal["model_version"] and signal["reasoning"]
        with pytest.raises(asyncio.TimeoutError):  # one signal for the hour, none for the other minute
            await next_of(socket, "signals", timeout_s=2.0)


async def drain_until_closed(socket: websockets.ClientConnection) -> None:
    while True:
        await asyncio.wait_for(socket.recv(), 10)


async def test_a_connection_with_no_subscription_that_says_nothing_is_closed_as_idle(suite: Suite) -> None:
    """STREAM_IDLE_TIMEOUT_S=4 in the tests; a subscribed connection is never idle (see the tests above)."""
    async with websockets.connect(ws_url(suite)) as socket:
        started = time.monotonic()
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await drain_until_closed(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        assert closed.value.rcvd.reason.startswith("idle")
        assert 3.5 <= time.monotonic() - started < 8  # the server counts from its accept, a moment earlier
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"{suite.env.values['STREAM_URL']}/metrics")).text
    assert 'stream_disconnects_total{reason="idle"}' in metrics


async def test_a_second_replica_fans_out_on_its_own_and_resumes_the_first_ones_sessions(suite: Suite, bus: Bus) -> None:
    """No sticky routing needed: each replica consumes NATS itself, and sessions live in Redis/JetStream."""
    from harness import free_port

    port = free_port()
    await asyncio.to_thread(
        suite.spawn, "stream-2", "stream", f"http://127.0.0.1:{port}/health/live", STREAM_PORT=str(port)
    )
    second = f"ws://127.0.0.1:{port}/ws"
    try:
        first_socket, session = await subscribed_session(suite, "trades")
        async with websockets.connect(second) as other:
            await other.recv()
            await other.send(json.dumps({"action": "subscribe", "channel": "trades", "symbols": [PAIR]}))
            await next_of(other, "subscribed")
            await bus.publish(MARKET_TRADE, trade(7001), subject="market.trade.testusdt")
            received = await next_of(first_socket, "trades")
            assert received["data"]["id"] == "7001"
            assert (await next_of(other, "trades"))["data"]["id"] == "7001"
        last_seq = received["seq"]
        await first_socket.close()
        await asyncio.sleep(0.3)
        await bus.publish(MARKET_TRADE, trade(7002), subject="market.trade.testusdt")
        await asyncio.sleep(0.3)
        async with websockets.connect(second) as moved:  # the client reconnects to the other replica
            await moved.recv()
            await moved.send(json.dumps({"action": "resume", "session": session, "last_seq": last_seq}))
            assert (await next_of(moved, "resumed"))["replayed"] == 1
            frame = await next_of(moved, "trades")
            assert frame["data"]["id"] == "7002" and frame["seq"] == last_seq + 1
    finally:
        await asyncio.to_thread(suite.stop, "stream-2")
