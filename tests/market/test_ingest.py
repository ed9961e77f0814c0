"""Live ingest through the real suite: the sandbox's Binance WebSocket and REST imitations → market → NATS
and Redis. Also the REST fallback while the socket is dropped, leader election between two market
replicas (and the trades a killed leader's successor backfills), and the market.candles.get request-reply
service."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import nats
import pytest
import redis
from nats.aio.msg import Msg

from harness import Suite, free_port
from suite_shared.bus import Bus
from suite_shared.messages.market import CandlesReply, TickerEvent, TradeEvent
from suite_shared.topics import MARKET_STREAM

pytestmark = pytest.mark.timeout(180)

TICKER = "market.ticker.btcusdt"
TRADE = "market.trade.btcusdt"


class Collected:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def of(self, subject: str, source: str | None = None, after: float = 0.0) -> list[dict[str, Any]]:
        return [
            body
            for seen_subject, body in self.messages
            if seen_subject == subject
            and (source is None or body.get("source") == source)
            and body["received_at"] >= after * 1000
        ]

    async def wait(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not seen within {timeout_s}s")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def collecting(suite: Suite, *subjects: str) -> AsyncIterator[Collected]:
    client = await nats.connect(suite.env.values["NATS_URL"])
    collected = Collected()

    async def on_message(msg: Msg) -> None:
        collected.messages.append((msg.subject, json.loads(msg.data)))

    for subject in subjects:
        await client.subscribe(subject, cb=on_message)
    try:
        yield collected
    finally:
        await client.close()


def ingest_health(url: str) -> dict[str, Any]:
    detail: dict[str, Any] = httpx.get(f"{url}/health", timeout=5).json()["dependencies"]["ingest"]["detail"]
    return detail


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what} not within {timeout_s}s")
        time.sleep(0.2)
    return time.monotonic() - started


async def test_ticker_and_trade_events_arrive_with_the_fields_the_stream_service_sends(suite: Suite) -> None:
    async with collecting(suite, TICKER, TRADE) as seen:
        await seen.wait(lambda: bool(seen.of(TICKER) and seen.of(TRADE)), 20, "a BTC/USDT ticker and trade")
    ticker = TickerEvent.model_validate(seen.of(TICKER)[-1])
    trade = TradeEvent.model_validate(seen.of(TRADE)[-1])
    assert ticker.symbol == trade.symbol == "BTC/USDT"
    assert ticker.price > 0 and ticker.change_24h is not None and ticker.volume_24h is not None
    assert trade.price > 0 and trade.amount > 0 and trade.side in ("buy", "sell")
    for event in (ticker, trade):
        assert event.timestamp > 1_500_000_000_000 and event.received_at > 1_500_000_000_000  # both epoch ms


async def test_latest_values_land_in_redis_with_a_ttl(suite: Suite) -> None:
    async with collecting(suite, TICKER) as seen:
        await seen.wait(lambda: bool(seen.of(TICKER)), 20, "a ticker")
    client = redis.Redis.from_url(suite.env.values["CACHE_REDIS_URL"])  # latest values are cache, not state
    raw = client.get("latest:ticker:BTC/USDT")
    ttl = client.ttl("latest:ticker:BTC/USDT")
    client.close()
    assert raw is not None and 0 < ttl <= 300
    assert TickerEvent.model_validate_json(raw).symbol == "BTC/USDT"


async def test_while_the_socket_is_dropped_rest_polling_keeps_tickers_flowing_then_the_stream_resumes(
    sandbox: Suite,
) -> None:
    market = sandbox.service_url("market")
    async with collecting(sandbox, TICKER) as seen:
        await seen.wait(lambda: bool(seen.of(TICKER, "binance")), 20, "a streamed ticker")
        dropped_at = time.time()
        sandbox.set_fault("binance-ws", "drop_ws")
        try:
            await seen.wait(lambda: ingest_health(market).get("socket") != "connected", 15, "the socket dropping")
            await seen.wait(lambda: bool(seen.of(TICKER, "binance-rest", dropped_at)), 20, "a REST-polled ticker")
            assert ingest_health(market)["socket"] == "polling"
        finally:
            sandbox.clear_faults()
        cleared_at = time.time()
        # the reconnect backoff is capped at 10 s, so the stream is back well within this
        await seen.wait(lambda: bool(seen.of(TICKER, "binance", cleared_at + 0.5)), 25, "streamed tickers again")
    assert ingest_health(market)["socket"] == "connected"


async def test_market_candles_get_answers_closed_candles_and_errors_for_bad_symbols(suite: Suite) -> None:
    client = await nats.connect(suite.env.values["NATS_URL"])
    try:
        good = await client.request(
            "market.candles.get", b'{"symbol": "BTC/USDT", "timeframe": "1h", "limit": 5}', timeout=10
        )
        bad = await client.request("market.candles.get", b'{"symbol": "NOTACOIN/USDT", "timeframe": "1h"}', timeout=10)
        odd = await client.request("market.candles.get", b'{"symbol": "BTC/USDT", "timeframe": "7m"}', timeout=10)
    finally:
        await client.close()
    reply = CandlesReply.model_validate_json(good.data)
    assert reply.error is None and reply.symbol == "BTC/USDT" and len(reply.data) == 5
    now_ms = int(time.time() * 1000)
    assert all(candle.t + 3_600_000 <= now_ms for candle in reply.data)  # closed candles only
    assert [candle.t for candle in reply.data] == sorted(candle.t for candle in reply.data)
    error = CandlesReply.model_validate_json(bad.data).error
    assert error is not None and error.code == "INVALID_SYMBOL"
    odd_error = CandlesReply.model_validate_json(odd.data).error
    assert odd_error is not None and odd_error.code == "VALIDATION_ERROR"


@contextmanager
def two_market_replicas(suite: Suite) -> Iterator[tuple[dict[str, str], str, str]]:
    """A second market replica beside the suite's; yields (urls by alias, leader, standby) once one of them
    leads the ingest. Afterwards the suite's own replica runs again (if the test stopped it) and the second
    one is gone."""
    port = free_port()
    urls = {"market": suite.service_url("market"), "market-2": f"http://127.0.0.1:{port}"}
    suite.spawn("market-2", "market", urls["market-2"] + "/health", MARKET_PORT=str(port), MARKET_URL=urls["market-2"])
    try:
        wait_until(
            lambda: {ingest_health(url)["state"] for url in urls.values()} == {"leader", "standby"},
            15,
            "one leader and one standby",
        )
        leader = next(name for name, url in urls.items() if ingest_health(url)["state"] == "leader")
        yield urls, leader, next(name for name in urls if name != leader)
    finally:
        if "market" not in suite.processes:  # stopped or killed by the test
            suite.start(["market"])
        suite.stop("market-2")


def test_two_replicas_elect_one_leader_and_the_other_takes_over_when_it_stops(suite: Suite) -> None:
    with two_market_replicas(suite) as (urls, leader, standby):
        assert 'ingest_leader{feed="binance"} 1.0' in httpx.get(urls[leader] + "/metrics").text
        assert 'ingest_leader{feed="binance"} 0.0' in httpx.get(urls[standby] + "/metrics").text
        suite.stop(leader)
        took = wait_until(lambda: ingest_health(urls[standby])["state"] == "leader", 10, "the standby taking over")
        wait_until(lambda: ingest_health(urls[standby]).get("socket") == "connected", 15, "the new leader streaming")
        print(f"takeover after {took:.1f}s")


async def stored_trade_ids(suite: Suite, subject: str, since_ms: int) -> list[int]:
    """The exchange ids of the trades the MARKET stream holds on `subject` from `since_ms` on, stream order."""
    bus = Bus(suite.env.values["NATS_URL"], "test-backfill")
    bus.start()
    await bus.wait_connected(10)
    try:
        records = [record async for record in bus.replay(MARKET_STREAM, [subject], 1)]
    finally:
        await bus.close()
    trades = [TradeEvent.model_validate_json(record.data) for record in records]
    return [int(trade.id) for trade in trades if trade.timestamp >= since_ms]


async def test_the_trades_a_killed_leader_missed_are_backfilled_by_its_successor_without_a_hole(suite: Suite) -> None:
    """SIGKILL: the lease is not released, so the feed has no leader until its TTL runs out (20 s); the
    successor fetches the exchange's trades of that time before streaming on."""
    with two_market_replicas(suite) as (urls, leader, successor):
        since_ms = int(time.time() * 1000) - 5_000
        suite.stop(leader, signal.SIGKILL)
        leaderless = wait_until(lambda: ingest_health(urls[successor])["state"] == "leader", 45, "a new leader")
        async with collecting(suite, TRADE) as seen:  # live trades again: the held ones are out
            await seen.wait(lambda: bool(seen.of(TRADE)), 25, "live trades from the new leader")
        ids = await stored_trade_ids(suite, TRADE, since_ms)
    assert leaderless > 10  # the lease outlived its holder: without the backfill this time's trades are gone
    assert len(ids) > 3 * leaderless  # the sandbox's exchange trades three times a second
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # every trade, once, in order
