"""The market list: fetch through the provider chain and cache, then sort and cut for the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from suite_shared.cache import Cache, CacheResult, Fetched
from suite_shared.envelope import now_ms
from suite_shared.providers import ProviderChain

from .models import MarketCoin, MarketQuery, MarketSort

# On the cached rows (plain dicts), so only the coins a request keeps are validated into models.
SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "rank": lambda row: (row.get("rank") is None, row.get("rank") or 0),
    "volume": lambda row: -(row.get("volume_24h") or 0.0),
    "price_change": lambda row: -(row["change_24h"] if row.get("change_24h") is not None else float("-inf")),
}


async def market_list(
    cache: Cache, chain: ProviderChain[MarketQuery, list[MarketCoin]], query: MarketQuery
) -> CacheResult:
    """The cached market list for (currency, category), big enough for `query.count` coins."""

    async def fetch() -> Fetched:
        result = await chain.run(query)
        return Fetched([coin.model_dump() for coin in result.value], result.source, result.sources_tried, now_ms())

    pages = 1 if query.count <= 250 else 2
    return await cache.get_or_fetch("market", f"{query.currency}:{query.category}:{pages}", fetch)


def select(rows: list[dict[str, Any]], sort: MarketSort, limit: int) -> list[MarketCoin]:
    return [MarketCoin.model_validate(row) for row in sorted(rows, key=SORT_KEYS[sort])[:limit]]
