"""Candles with fixed semantics: `t` is the open time, and only closed candles are served.

The unfinished current candle is always excluded (live updates of it come over the WebSocket `candles`
channel), so every candle served is final.

Whatever window a client asks for (`since`, `until`, `limit`), it is served from fixed pages of
`PAGE_CANDLES` candle slots per pair and timeframe, aligned to the timeframe's candle boundaries: a page is
fetched from the upstream once and cached, a window spanning two pages costs at most two fetches, and the
next client asking for any window inside them costs none. A page wholly in the past never changes and is
kept for good (the cache's final retention); the page holding the present is refreshed when its next
candle closes (at most the OHLCV TTL).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from suite_shared.cache import Cache, CacheRecord, CacheResult, Fetched
from suite_shared.envelope import CacheStatus, now_ms
from suite_shared.providers import ProviderChain

from .models import TIMEFRAME_MS, Candle, CandleQuery

PAGE_CANDLES = 1000  # Binance's largest klines page: one call, weight 2
WEEK_OFFSET_MS = 4 * TIMEFRAME_MS["1d"]  # Binance weeks open on Monday 00:00 UTC; epoch 0 was a Thursday
PRIMARY = "binance"  # its pages hold every candle the exchange has; a fallback's may hold fewer


def _offset(timeframe: str) -> int:
    return WEEK_OFFSET_MS if timeframe == "1w" else 0


def slot_at_or_before(timeframe: str, at_ms: int) -> int:
    """The open time of the candle slot holding `at_ms`."""
    step, offset = TIMEFRAME_MS[timeframe], _offset(timeframe)
    return (at_ms - offset) // step * step + offset


def slot_at_or_after(timeframe: str, at_ms: int) -> int:
    start = slot_at_or_before(timeframe, at_ms)
    return start if start == at_ms else start + TIMEFRAME_MS[timeframe]


def last_closed_open_time(timeframe: str, at_ms: int) -> int:
    return slot_at_or_before(timeframe, at_ms) - TIMEFRAME_MS[timeframe]


def next_close(timeframe: str, at_ms: int) -> int:
    """When the candle open at `at_ms` closes: the moment every window ending at the last closed candle moves."""
    return slot_at_or_before(timeframe, at_ms) + TIMEFRAME_MS[timeframe]


def page_of(timeframe: str, open_ms: int) -> int:
    return (open_ms - _offset(timeframe)) // (TIMEFRAME_MS[timeframe] * PAGE_CANDLES)


def page_bounds(timeframe: str, page: int) -> tuple[int, int]:
    """Open times of a page's first and last slot."""
    span = TIMEFRAME_MS[timeframe] * PAGE_CANDLES
    first = page * span + _offset(timeframe)
    return first, first + span - TIMEFRAME_MS[timeframe]


@dataclass(frozen=True)
class Window:
    """The slots a query asks about: its candles are the oldest `limit` from `first` when it gave `since`
    (`forward`), else the newest `limit` up to `last`."""

    first: int
    last: int
    forward: bool


def window_of(query: CandleQuery, last_closed: int) -> Window | None:
    """The query's window of closed slots (None: it lies wholly in the future or is empty)."""
    step = TIMEFRAME_MS[query.timeframe]
    last = min(last_closed, slot_at_or_before(query.timeframe, query.until)) if query.until is not None else last_closed
    if query.since is not None:
        first = slot_at_or_after(query.timeframe, query.since)
        last = min(last, first + (query.limit - 1) * step)
        return Window(first, last, True) if first <= last else None
    return Window(max(0, last - (query.limit - 1) * step), last, False) if last >= 0 else None


Row = dict[str, Any]  # a candle as cached: {"t", "o", "h", "l", "c", "v"}


def select_window(rows: list[Row], query: CandleQuery) -> list[Row]:
    """Sorted, de-duplicated candles inside [since, until]; the oldest `limit` after `since`, else the newest."""
    unique = sorted({row["t"]: row for row in rows}.values(), key=lambda row: row["t"])
    inside = [
        row
        for row in unique
        if (query.since is None or row["t"] >= query.since) and (query.until is None or row["t"] <= query.until)
    ]
    return inside[: query.limit] if query.since is not None else inside[-query.limit :]


async def candles(
    cache: Cache, chain: ProviderChain[CandleQuery, list[Candle]], query: CandleQuery, default_ttl_s: float
) -> CacheResult:
    """The query's closed candles (rows), from cached pages (see the module doc); the result's provenance
    is the newest page read (source, cache status), stale if any page was, as of its last candle's close."""
    now = now_ms()
    last_closed = last_closed_open_time(query.timeframe, now)
    window = window_of(query, last_closed)
    if window is None:
        return CacheResult([], "hit", CacheRecord([], "market", [], now, now, 0))
    pages = list(range(page_of(query.timeframe, window.first), page_of(query.timeframe, window.last) + 1))
    results = [await _page(cache, chain, query, page, last_closed, now, default_ttl_s) for page in pages]
    rows = [row for result in results for row in result.value]
    data = select_window(rows, query)
    neighbour = pages[-1] + 1 if window.forward else pages[0] - 1
    if len(data) < query.limit and 0 <= neighbour <= page_of(query.timeframe, last_closed):
        # Exchange outages leave slots empty: one more page tops the answer up to `limit` candles.
        results.append(await _page(cache, chain, query, neighbour, last_closed, now, default_ttl_s))
        data = select_window(rows + results[-1].value, query)
    return _combined(results, data, query.timeframe, now)


async def _page(
    cache: Cache,
    chain: ProviderChain[CandleQuery, list[Candle]],
    query: CandleQuery,
    page: int,
    last_closed: int,
    now: int,
    default_ttl_s: float,
) -> CacheResult:
    first, last = page_bounds(query.timeframe, page)
    page_query = query.model_copy(update={"limit": PAGE_CANDLES, "since": first, "until": last})

    async def fetch() -> Fetched:
        result = await chain.run(page_query)
        closed = sorted((c for c in result.value if first <= c.t <= min(last, last_closed)), key=lambda c: c.t)
        rows = [candle.model_dump() for candle in closed]
        as_of = rows[-1]["t"] + TIMEFRAME_MS[query.timeframe] if rows else now
        # A past page from the primary never changes; a fallback's may lack candles the primary has.
        final = last <= last_closed and result.source == PRIMARY
        return Fetched(rows, result.source, result.sources_tried, as_of, final=final)

    step_s = TIMEFRAME_MS[query.timeframe] / 1000
    until_next_close_s = (last_closed + 2 * TIMEFRAME_MS[query.timeframe] - now) / 1000
    ttl = min(default_ttl_s, max(until_next_close_s, 1.0), step_s)
    key = f"{query.base}:{query.quote}:{query.timeframe}:page:{page}"
    return await cache.get_or_fetch("ohlcv", key, fetch, ttl_s=ttl)


def _combined(results: list[CacheResult], data: list[Row], timeframe: str, now: int) -> CacheResult:
    newest = results[-1]
    status: CacheStatus = "stale" if any(result.stale for result in results) else newest.status
    as_of = data[-1]["t"] + TIMEFRAME_MS[timeframe] if data else newest.record.as_of
    record = replace(newest.record, value=data, as_of=min(as_of, now))
    return CacheResult(data, status, record)
