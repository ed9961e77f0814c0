"""Where ingested events go: NATS subjects for subscribers, and the latest value per type and pair in Redis.

Ingest only calls `offer()`, which never waits: events land in bounded in-memory buffers and one flusher
task delivers them in batches. Tickers, books and candle updates are coalesced (the newest per key wins,
so a burst costs one publish); trades are kept in order in a bounded deque whose oldest entries give way
when delivery falls behind. Every event is serialised once, for NATS and Redis alike. While NATS or Redis
is unreachable their part is skipped and counted, and ingest carries on.
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
    ) -> None:
        self.bus = bus
        self.redis = redis
        self.latest_ttl_s = latest_ttl_s
        self.max_coalesced = max_coalesced
        self.flush_interval_s = flush_interval_s
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

    async def run(self) -> None:
        """Deliver batches forever; at most one batch per `flush_interval_s`, so bursts coalesce."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # a bug in one batch must not stop delivery for good
                log.exception("failed to deliver a batch of market events")
            await asyncio.sleep(self.flush_interval_s)

    async def flush(self) -> None:
        """Deliver everything waiting now."""
        batch = [(event, event.model_dump_json().encode()) for event in self._take()]
        await self._publish(batch)
        await self._store_latest(batch)

    def _take(self) -> list[MarketEvent]:
        events: list[MarketEvent] = [*self._coalesced.values(), *self._trades]
        self._coalesced.clear()
        self._trades.clear()
        return events

    async def _publish(self, batch: Batch) -> None:
        for index, (event, data) in enumerate(batch):
            try:
                topic, subject = topic_for(event)
                await self.bus.publish(topic, event, subject=subject, encoded=data)
            except BusUnavailable:
                INGEST_DROPPED.labels("nats_down").inc(len(batch) - index)
                log.debug("NATS down: %d events not published", len(batch) - index)
                return

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
