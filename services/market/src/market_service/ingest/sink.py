"""Where ingested events go: NATS subjects for subscribers, and the latest value per type and pair in Redis.

Ingest only calls `offer()`, which never waits: events land in bounded in-memory buffers and one flusher
task delivers them in batches. Tickers, books and candle updates are coalesced (the newest per key wins,
so a burst costs one publish); trades are kept in order in a bounded deque whose oldest entries give way
when delivery falls behind. Every event is serialised once per attempt, for NATS and Redis alike.

Events are published into the MARKET stream with JetStream's acknowledgement (pipelined, one batch at a
time) and a Nats-Msg-Id of their own (`message_id`). What is not acknowledged — NATS unreachable, the node
we were connected to gone, the stream between two leaders after a node died — goes back into the buffers
and is published again, ahead of newer events (a coalesced value only if no newer one is waiting); a
repeat of a message that was stored after all is dropped by the stream. So a NATS node failure loses no
event, as long as the buffers hold what arrives meanwhile (overflow is counted). Redis (latest values) is
written either way: while it is unreachable that part is skipped and counted, and ingest carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from functools import lru_cache
from typing import Any

from suite_shared.bus import Bus, BusUnavailable
from suite_shared.messages.market import (
    LATEST_TTL_S,
    BookEvent,
    CandleEvent,
    MarketEvent,
    TickerEvent,
    TradeEvent,
    latest_key_of,
)
from suite_shared.metrics import INGEST_DROPPED, INGEST_EVENTS
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.symbols import Pair, parse_pair
from suite_shared.topics import MARKET_BOOK, MARKET_CANDLE, MARKET_TICKER, MARKET_TRADE, Topic

log = logging.getLogger(__name__)

Batch = list[tuple[MarketEvent, bytes]]


@lru_cache(maxsize=4096)
def _pair(symbol: str) -> Pair:
    return parse_pair(symbol)


def topic_for(event: MarketEvent) -> tuple[Topic[Any], str]:
    """The topic of an event and its subject (`market.ticker.btcusdt`, `market.candle.1m.btcusdt`, ...)."""
    pair = _pair(event.symbol).subject_token
    if isinstance(event, TickerEvent):
        return MARKET_TICKER, MARKET_TICKER.subject(pair=pair)
    if isinstance(event, TradeEvent):
        return MARKET_TRADE, MARKET_TRADE.subject(pair=pair)
    if isinstance(event, BookEvent):
        return MARKET_BOOK, MARKET_BOOK.subject(pair=pair)
    if isinstance(event, CandleEvent):
        return MARKET_CANDLE, MARKET_CANDLE.subject(timeframe=event.timeframe, pair=pair)
    raise TypeError(f"no topic for {type(event).__name__}")


def coalesce_key(event: MarketEvent) -> str:
    """Events with the same key replace each other while waiting; a candle's open time is part of its key
    so a closed candle is never replaced by the first update of the next one."""
    if isinstance(event, CandleEvent):
        return f"candle:{event.timeframe}:{event.symbol}:{event.t}"
    return f"{event.kind}:{event.symbol}"


def message_id(event: MarketEvent) -> str:
    """The event's Nats-Msg-Id: a trade by its exchange id, any other event by its key and time; so a
    repeat of the same event (a retry, or two leaders overlapping for a moment) is stored once."""
    if isinstance(event, TradeEvent):
        return f"{event.source}:trade:{event.symbol}:{event.id}"
    closed = ":closed" if isinstance(event, CandleEvent) and event.closed else ""
    return f"{event.source}:{coalesce_key(event)}:{event.timestamp}{closed}"


class EventSink:
    """Buffers offered events and delivers them from one background task (`run`)."""

    def __init__(
        self,
        bus: Bus,
        redis: RedisLink,
        latest_ttl_s: int = LATEST_TTL_S,
        max_trades: int = 10_000,
        max_coalesced: int = 4096,
        flush_interval_s: float = 0.05,
        retry_s: float = 0.5,
        ack_timeout_s: float = 2.0,
    ) -> None:
        self.bus = bus
        self.redis = redis
        self.latest_ttl_s = latest_ttl_s
        self.max_coalesced = max_coalesced
        self.flush_interval_s = flush_interval_s
        self.retry_s = retry_s
        self.ack_timeout_s = ack_timeout_s
        self.retried = 0  # events published again after no acknowledgement
        self._coalesced: dict[str, MarketEvent] = {}
        self._trades: deque[TradeEvent] = deque(maxlen=max_trades)
        self._wake = asyncio.Event()
        self.last_event_at: float | None = None  # monotonic time of the last offered event

    def offer(self, event: MarketEvent) -> None:
        """Take an event for delivery without waiting (drops, counted, only when the buffers are full)."""
        INGEST_EVENTS.labels(event.kind, event.source).inc()
        self.last_event_at = time.monotonic()
        if isinstance(event, TradeEvent):
            if len(self._trades) == self._trades.maxlen:
                INGEST_DROPPED.labels("overflow").inc()
            self._trades.append(event)
        else:
            key = coalesce_key(event)
            if key not in self._coalesced and len(self._coalesced) >= self.max_coalesced:
                INGEST_DROPPED.labels("overflow").inc()
                return
            self._coalesced[key] = event
        self._wake.set()

    @property
    def waiting(self) -> int:
        """Events not yet acknowledged by the stream."""
        return len(self._coalesced) + len(self._trades)

    async def run(self) -> None:
        """Deliver batches forever; at most one batch per `flush_interval_s`, so bursts coalesce; while
        events wait unacknowledged, a new attempt every `retry_s`."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # a bug in one batch must not stop delivery for good
                log.exception("failed to deliver a batch of market events")
            if self.waiting:
                await asyncio.sleep(self.retry_s)
                self._wake.set()
            else:
                await asyncio.sleep(self.flush_interval_s)

    async def flush(self) -> None:
        """Deliver everything waiting now; what the stream did not acknowledge waits for the next attempt."""
        batch = [(event, event.model_dump_json().encode()) for event in self._take()]
        stored = await self._publish(batch)
        self._put_back([event for (event, _), ok in zip(batch, stored, strict=True) if not ok])
        await self._store_latest(batch)

    def _take(self) -> list[MarketEvent]:
        events: list[MarketEvent] = [*self._coalesced.values(), *self._trades]
        self._coalesced.clear()
        self._trades.clear()
        return events

    def _put_back(self, events: list[MarketEvent]) -> None:
        """Unacknowledged events go back ahead of what arrived meanwhile: trades in their order (the oldest
        give way if the buffer is full), other events only where no newer value for their key waits."""
        if not events:
            return
        trades = [event for event in events if isinstance(event, TradeEvent)]
        if trades:
            merged = [*trades, *self._trades]
            overflow = max(0, len(merged) - (self._trades.maxlen or len(merged)))
            if overflow:
                INGEST_DROPPED.labels("overflow").inc(overflow)
            self._trades = deque(merged, maxlen=self._trades.maxlen)
        for event in events:
            if not isinstance(event, TradeEvent):
                key = coalesce_key(event)
                if key not in self._coalesced and len(self._coalesced) < self.max_coalesced:
                    self._coalesced[key] = event
        self.retried += len(events)
        log.info("%d market events not acknowledged by the stream yet; publishing them again", len(events))

    async def _publish(self, batch: Batch) -> list[bool]:
        """Which events of the batch the MARKET stream acknowledged."""
        if not batch:
            return []
        messages = []
        for event, data in batch:
            topic, subject = topic_for(event)
            messages.append((topic, event, subject, data, message_id(event)))
        try:
            return await self.bus.publish_acked(messages, timeout_s=self.ack_timeout_s)
        except BusUnavailable:
            log.debug("NATS down: %d events wait", len(batch))
            return [False] * len(batch)

    async def _store_latest(self, batch: Batch) -> None:
        latest = {latest_key_of(event): data for event, data in batch}
        if not latest:
            return

        async def write(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            for key, data in latest.items():
                pipe.set(key, data, ex=self.latest_ttl_s)
            await pipe.execute()

        try:
            await self.redis.call(write)
        except RedisDown:
            log.debug("redis down: %d latest values not stored", len(latest))
