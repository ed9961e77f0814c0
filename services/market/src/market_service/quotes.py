"""Prices, tickers, order books and trades: cached provider-chain calls whose keys the client cannot vary.

A client picks `limit` (books, trades) and `since` (trades) freely, so those never reach a cache key as they
are: a book is fetched once per pair at its full depth and cut per request; recent trades are fetched once
per pair at their full count; trades since a time are served from the recent ones when those reach back far
enough, else from pages that start at a minute boundary (one page serves every `since` in its minute). A
full page of past trades never changes and is kept for good.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from suite_shared.cache import Cache, CacheResult, Fetched
from suite_shared.envelope import now_ms
from suite_shared.providers import ProviderChain

from .models import PairQuery


async def cached_chain(
    cache: Cache,
    kind: str,
    key: str,
    chain: ProviderChain[Any, Any],
    query: Any,
    as_of: Callable[[Any], int | None] = lambda value: None,
    forever: bool = False,
) -> CacheResult:
    """Run `chain` for `query` behind the cache; values are stored as plain JSON."""

    async def fetch() -> Fetched:
        result = await chain.run(query)
        return Fetched(_plain(result.value), result.source, result.sources_tried, as_of(result.value) or now_ms())

    return await cache.get_or_fetch(kind, key, fetch, forever=forever)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def pair_key(query: PairQuery, *extra: object) -> str:
    return ":".join([query.base, query.quote, *(str(item) for item in extra)])


BOOK_DEPTH = 100  # the contract's largest book; Binance weighs depth ≤ 100 the same (5)
TRADES_PAGE = 500  # the contract's largest trade list; Binance weighs recent trades the same at any count
MINUTE_MS = 60_000


async def order_book(cache: Cache, chain: ProviderChain[Any, Any], pair: PairQuery) -> CacheResult:
    """The pair's book at full depth (cut to the client's `limit` by the caller)."""
    query = pair.model_copy(update={"limit": BOOK_DEPTH, "since": None})
    return await cached_chain(cache, "orderbook", pair_key(query), chain, query)


def _newest(trades: list[Any]) -> int | None:
    return max((trade.timestamp for trade in trades), default=None)


async def recent_trades(cache: Cache, chain: ProviderChain[Any, Any], pair: PairQuery) -> CacheResult:
    """The pair's newest TRADES_PAGE trades, newest first."""
    query = pair.model_copy(update={"limit": TRADES_PAGE, "since": None})
    return await cached_chain(cache, "trades", pair_key(query), chain, query, as_of=_newest)


async def trades_since(cache: Cache, chain: ProviderChain[Any, Any], pair: PairQuery, since: int) -> CacheResult:
    """Trades at or after `since`, oldest first, up to the pair query's limit (see the module doc)."""
    recent = await recent_trades(cache, chain, pair)
    if recent.value and min(row["timestamp"] for row in recent.value) <= since:
        return _forward(recent, since, pair.limit)
    page = await _trades_page(cache, chain, pair, since - since % MINUTE_MS)
    found = _forward(page, since, pair.limit)
    if len(found.value) < pair.limit and len(page.value) == TRADES_PAGE:
        # The page filled up before `limit` trades after `since`: the next page starts after its last trade.
        after = await _trades_page(cache, chain, pair, max(row["timestamp"] for row in page.value) + 1)
        found = _forward(replace(page, value=page.value + after.value), since, pair.limit)
    return found


async def _trades_page(cache: Cache, chain: ProviderChain[Any, Any], pair: PairQuery, start: int) -> CacheResult:
    query = pair.model_copy(update={"limit": TRADES_PAGE, "since": start})

    async def fetch() -> Fetched:
        result = await chain.run(query)
        rows = _plain(result.value)
        # A full page lies wholly in the past (more trades came after it): it never changes.
        return Fetched(
            rows, result.source, result.sources_tried, _newest(result.value) or now_ms(), final=len(rows) == TRADES_PAGE
        )

    return await cache.get_or_fetch("trades", pair_key(query, "from", start), fetch)


def _forward(result: CacheResult, since: int, limit: int) -> CacheResult:
    rows = sorted((row for row in result.value if row["timestamp"] >= since), key=lambda row: row["timestamp"])
    unique = list({row["id"]: row for row in rows}.values())[:limit]
    return replace(result, value=unique)
