"""Which pairs exist: user symbols are checked against the exchange's symbol list before any upstream call.

An unknown symbol is the contract's 404 INVALID_SYMBOL with close suggestions. When no symbol list can be
had (every exchange down, nothing cached), symbols are only parsed, not checked: the data call then fails
on its own terms instead of the directory blocking every request.
"""

from __future__ import annotations

import logging
from collections.abc import Set
from dataclasses import dataclass

from suite_shared.cache import Cache, CacheRecord, CacheResult, Fetched
from suite_shared.envelope import now_ms
from suite_shared.errors import InvalidSymbol, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from suite_shared.providers import ProviderChain
from suite_shared.symbols import Pair, parse_pair, require_known, suggest

from .models import ExchangeInfo

log = logging.getLogger(__name__)


async def exchange_info(cache: Cache, chain: ProviderChain[None, ExchangeInfo]) -> CacheResult:
    async def fetch() -> Fetched:
        result = await chain.run(None)
        return Fetched(result.value.model_dump(), result.source, result.sources_tried, now_ms())

    return await cache.get_or_fetch("exchange_info", "all", fetch)


@dataclass(frozen=True)
class Directory:
    """The active pairs of one exchange_info record, and the assets they name."""

    record: CacheRecord
    pairs: frozenset[str]
    assets: frozenset[str]


_latest: list[Directory] = []  # one slot: the directory of the record read last


def directory_of(record: CacheRecord) -> Directory:
    """The record's directory, built once per record (it was rebuilt per request: a set over every
    symbol the exchange lists, on every symbol lookup)."""
    if _latest and _latest[0].record is record:
        return _latest[0]
    pairs = frozenset(row["symbol"] for row in record.value["symbols"] if row["active"])
    directory = Directory(record, pairs, frozenset(name for pair in pairs for name in pair.split("/")))
    _latest[:] = [directory]
    return directory


async def known_directory(cache: Cache, chain: ProviderChain[None, ExchangeInfo]) -> Directory | None:
    try:
        info = await exchange_info(cache, chain)
    except (UpstreamError, UpstreamTimeout, UpstreamUnavailable) as exc:
        log.warning("no symbol list to check against: %s", exc)
        return None
    return directory_of(info.record)


async def known_pairs(cache: Cache, chain: ProviderChain[None, ExchangeInfo]) -> frozenset[str] | None:
    directory = await known_directory(cache, chain)
    return directory.pairs if directory is not None else None


async def resolve_pair(
    cache: Cache,
    chain: ProviderChain[None, ExchangeInfo],
    raw: str,
    quote: str | None = None,
    quote_for_usd: str = "USDT",
) -> Pair:
    """Parse `raw` (with `quote` replacing its quote, for conversions) and check that the pair trades.

    USD quotes are checked as their USDT pair: USD prices are read from USDT markets.
    """
    directory = await known_directory(cache, chain)
    if directory is None:
        pair = parse_pair(raw)
        return Pair(pair.base, quote) if quote else pair
    pair = parse_pair(raw, directory.assets)
    pair = Pair(pair.base, quote) if quote else pair
    require_known(pair.base, directory.assets, raw)
    checked = f"{pair.base}/{quote_for_usd if pair.quote == 'USD' else pair.quote}"
    if checked not in directory.pairs:
        raise unknown_pair(checked, directory.pairs, raw)
    return pair


def unknown_pair(pair: str, pairs: Set[str], raw: str) -> InvalidSymbol:
    """INVALID_SYMBOL for a known asset in a pair that does not trade, listing the pairs it does trade in."""
    base = pair.split("/")[0]
    same_base = sorted(candidate for candidate in pairs if candidate.startswith(f"{base}/"))
    return InvalidSymbol(
        f"{pair} is not traded. Pairs of {base}: {', '.join(same_base[:8]) or 'none'}.",
        {
            "symbol": raw,
            "supported_symbols": same_base[:20] or sorted(pairs)[:20],
            "suggestions": same_base[:5] or suggest(pair, pairs),
        },
    )
