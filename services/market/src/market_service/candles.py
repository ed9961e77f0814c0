"""Candles with fixed semantics: `t` is the open time, and only closed candles are served.

The unfinished current candle is always excluded (live updates of it come over the WebSocket `candles`
channel), so every candle served is final. A window that ends before the newest closed candle can never
change and is cached for good; a window reaching the present is cached until the next candle closes (at
most the OHLCV TTL).
"""

from __future__ import annotations

from suite_shared.cache import Cache, CacheResult, Fetched
from suite_shared.envelope import now_ms
from suite_shared.providers import ProviderChain

from .models import TIMEFRAME_MS, Candle, CandleQuery


def closed_only(candles: list[Candle], timeframe: str, at_ms: int) -> list[Candle]:
    return [candle for candle in candles if candle.t + TIMEFRAME_MS[timeframe] <= at_ms]


def select_window(candles: list[Candle], query: CandleQuery) -> list[Candle]:
    """Sorted, de-duplicated candles inside [since, until]; the oldest `limit` after `since`, else the newest."""
    unique = sorted({candle.t: candle for candle in candles}.values(), key=lambda candle: candle.t)
    inside = [
        candle
        for candle in unique
        if (query.since is None or candle.t >= query.since) and (query.until is None or candle.t <= query.until)
    ]
    return inside[: query.limit] if query.since is not None else inside[-query.limit :]


def last_closed_open_time(timeframe: str, at_ms: int) -> int:
    step = TIMEFRAME_MS[timeframe]
    if timeframe == "1w":  # Binance weeks open on Monday 00:00 UTC; epoch 0 was a Thursday
        offset = 4 * TIMEFRAME_MS["1d"]
        return (at_ms - offset) // step * step + offset - step
    return at_ms // step * step - step


async def candles(
    cache: Cache, chain: ProviderChain[CandleQuery, list[Candle]], query: CandleQuery, default_ttl_s: float
) -> CacheResult:
    now = now_ms()
    last_closed = last_closed_open_time(query.timeframe, now)
    final = query.until is not None and query.until <= last_closed

    async def fetch() -> Fetched:
        result = await chain.run(query)
        data = select_window(closed_only(result.value, query.timeframe, now), query)
        as_of = data[-1].t + TIMEFRAME_MS[query.timeframe] if data else now
        return Fetched([candle.model_dump() for candle in data], result.source, result.sources_tried, as_of)

    step_s = TIMEFRAME_MS[query.timeframe] / 1000
    until_next_close_s = (last_closed + 2 * TIMEFRAME_MS[query.timeframe] - now) / 1000
    ttl = min(default_ttl_s, max(until_next_close_s, 1.0), step_s)
    key = f"{query.base}:{query.quote}:{query.timeframe}:{query.since}:{query.until}:{query.limit}"
    return await cache.get_or_fetch("ohlcv", key, fetch, ttl_s=ttl, forever=final)
