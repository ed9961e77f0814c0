"""The event sink: subjects, coalescing, trade order, latest values in Redis, and carrying on while NATS or
Redis is down. NATS and Redis are replaced by small recorders (no network)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from market_service.ingest.sink import EventSink, message_id, topic_for
from suite_shared.bus import BusUnavailable
from suite_shared.messages.market import BookEvent, CandleEvent, TickerEvent, TradeEvent
from suite_shared.redis_link import RedisDown
from suite_shared.topics import MARKET_BOOK, MARKET_CANDLE, MARKET_TICKER, MARKET_TRADE, Topic


class RecordingBus:
    """Stands in for the Bus: records what the stream acknowledged; `unacked` leaves the next N unanswered."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.unacked = 0
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.message_ids: list[str] = []

    async def publish_acked(
        self, messages: list[tuple[Topic[Any], Any, str, bytes, str]], timeout_s: float
    ) -> list[bool]:
        if not self.up:
            raise BusUnavailable("NATS is not connected")
        stored = []
        for topic, payload, subject, encoded, msg_id in messages:
            assert isinstance(payload, topic.model) and topic.matches(subject)
            if self.unacked > 0:
                self.unacked -= 1
                stored.append(False)
                continue
            self.published.append((subject, orjson.loads(encoded)))
            self.message_ids.append(msg_id)
            stored.append(True)
        return stored


class RecordingRedis:
    """Stands in for RedisLink: runs the operation on a client whose pipeline records SETs."""

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.values: dict[str, tuple[dict[str, Any], int]] = {}

    async def call(self, operation: Callable[[Any], Awaitable[Any]]) -> Any:
        if not self.up:
            raise RedisDown("down")
        return await operation(self)

    def pipeline(self, transaction: bool = True) -> RecordingRedis.Pipe:
        return RecordingRedis.Pipe(self)

    class Pipe:
        def __init__(self, owner: RecordingRedis) -> None:
            self.owner = owner

        def set(self, key: str, data: bytes, ex: int) -> None:
            self.owner.values[key] = (orjson.loads(data), ex)

        async def execute(self) -> None:
            return None


def ticker(price: float, symbol: str = "BTC/USDT") -> TickerEvent:
    return TickerEvent(symbol=symbol, price=price, timestamp=1, received_at=2, source="binance")


def trade(trade_id: int) -> TradeEvent:
    return TradeEvent(
        symbol="BTC/USDT",
        id=str(trade_id),
        price=100.0 + trade_id,
        amount=1.0,
        side="buy",
        timestamp=trade_id,
        received_at=trade_id,
        source="binance",
    )


def candle(open_time: int, closed: bool) -> CandleEvent:
    return CandleEvent(
        symbol="BTC/USDT",
        timeframe="1m",
        t=open_time,
        o=1,
        h=2,
        l=0.5,
        c=1.5,
        v=10,
        closed=closed,
        timestamp=open_time,
        received_at=open_time,
        source="binance",
    )


def sink(bus: RecordingBus, redis: RecordingRedis, **options: Any) -> EventSink:
    return EventSink(bus, redis, **options)  # type: ignore[arg-type]


def test_every_event_type_has_its_subject_with_the_pair_in_subject_spelling() -> None:
    book = BookEvent(symbol="ETH/USDT", bids=[(1, 1)], asks=[(2, 1)], timestamp=1, received_at=1, source="binance")
    assert topic_for(ticker(1)) == (MARKET_TICKER, "market.ticker.btcusdt")
    assert topic_for(trade(1)) == (MARKET_TRADE, "market.trade.btcusdt")
    assert topic_for(book) == (MARKET_BOOK, "market.book.ethusdt")
    assert topic_for(candle(0, False)) == (MARKET_CANDLE, "market.candle.1m.btcusdt")


async def test_a_burst_of_tickers_is_published_once_with_the_newest_value_and_stored_as_latest() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis)
    for price in (1.0, 2.0, 3.0):
        events.offer(ticker(price))
    events.offer(ticker(9.0, "ETH/USDT"))
    await events.flush()
    assert [(subject, body["price"]) for subject, body in bus.published] == [
        ("market.ticker.btcusdt", 3.0),
        ("market.ticker.ethusdt", 9.0),
    ]
    stored, ttl = redis.values["latest:ticker:BTC/USDT"]
    assert stored == ticker(3.0).model_dump() and 60 <= ttl <= 600


async def test_trades_are_all_published_in_order_and_the_last_one_is_the_latest() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis)
    for trade_id in range(5):
        events.offer(trade(trade_id))
    await events.flush()
    assert [body["id"] for _, body in bus.published] == ["0", "1", "2", "3", "4"]
    assert redis.values["latest:trade:BTC/USDT"][0]["id"] == "4"


async def test_a_closed_candle_is_not_replaced_by_the_first_update_of_the_next_one() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis)
    events.offer(candle(0, False))
    events.offer(candle(0, True))
    events.offer(candle(60_000, False))
    await events.flush()
    assert [(body["t"], body["closed"]) for _, body in bus.published] == [(0, True), (60_000, False)]
    assert redis.values["latest:candle:1m:BTC/USDT"][0]["t"] == 60_000


async def test_trades_beyond_the_buffer_drop_the_oldest() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis, max_trades=3)
    for trade_id in range(5):
        events.offer(trade(trade_id))
    await events.flush()
    assert [body["id"] for _, body in bus.published] == ["2", "3", "4"]


async def test_with_nats_down_latest_values_are_still_stored_and_the_events_wait() -> None:
    bus, redis = RecordingBus(up=False), RecordingRedis()
    events = sink(bus, redis)
    events.offer(ticker(5.0))
    await events.flush()
    assert bus.published == [] and redis.values["latest:ticker:BTC/USDT"][0]["price"] == 5.0
    assert events.waiting == 1
    bus.up = True
    await events.flush()
    assert [body["price"] for _, body in bus.published] == [5.0] and events.waiting == 0


async def test_unacknowledged_trades_are_published_again_ahead_of_newer_ones() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis)
    for trade_id in range(4):
        events.offer(trade(trade_id))
    bus.unacked = 2  # the stream between two leaders: 0 and 1 unanswered, 2 and 3 stored
    await events.flush()
    events.offer(trade(4))
    await events.flush()
    assert [body["id"] for _, body in bus.published] == ["2", "3", "0", "1", "4"]
    assert events.waiting == 0 and events.retried == 2
    assert bus.message_ids[2] == "binance:trade:BTC/USDT:0"  # a repeat of a stored one is dropped by this id


async def test_an_unacknowledged_ticker_gives_way_to_a_newer_one() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis)
    events.offer(ticker(1.0))
    events.offer(ticker(1.0, "ETH/USDT"))
    bus.unacked = 2
    await events.flush()
    events.offer(ticker(2.0))  # newer BTC value arrived meanwhile: the old one is not sent again
    await events.flush()
    assert sorted((subject, body["price"]) for subject, body in bus.published) == [
        ("market.ticker.btcusdt", 2.0),
        ("market.ticker.ethusdt", 1.0),
    ]


async def test_the_runner_retries_until_the_stream_acknowledges() -> None:
    bus, redis = RecordingBus(up=False), RecordingRedis()
    events = sink(bus, redis, flush_interval_s=0.01, retry_s=0.02)
    runner = asyncio.create_task(events.run())
    events.offer(trade(7))
    await asyncio.sleep(0.1)
    bus.up = True  # no new offer: the waiting trade goes out on a retry
    for _ in range(100):
        if bus.published:
            break
        await asyncio.sleep(0.01)
    runner.cancel()
    assert [body["id"] for _, body in bus.published] == ["7"]


def test_message_ids_tell_events_apart_and_repeats_alike() -> None:
    assert message_id(trade(1)) == message_id(trade(1)) != message_id(trade(2))
    assert message_id(candle(0, False)) != message_id(candle(0, True))
    assert message_id(ticker(1.0)) != message_id(ticker(1.0, "ETH/USDT"))


async def test_with_redis_down_events_are_still_published() -> None:
    bus, redis = RecordingBus(), RecordingRedis(up=False)
    events = sink(bus, redis)
    events.offer(trade(1))
    await events.flush()
    assert [subject for subject, _ in bus.published] == ["market.trade.btcusdt"]


async def test_the_delivery_task_picks_up_offers_without_the_offerer_waiting() -> None:
    bus, redis = RecordingBus(), RecordingRedis()
    events = sink(bus, redis, flush_interval_s=0.01)
    runner = asyncio.create_task(events.run())
    events.offer(ticker(1.0))  # plain call: no await, so ingest never blocks on delivery
    for _ in range(100):
        if bus.published:
            break
        await asyncio.sleep(0.01)
    runner.cancel()
    assert bus.published and events.last_event_at is not None
