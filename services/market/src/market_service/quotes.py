"""Prices, tickers, order books and trades: one cached provider-chain call each."""

from __future__ import annotations

from collections.abc import Callable
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
