"""Which pairs exist: user symbols are checked against the exchange's symbol list before any upstream call.

An unknown symbol is the contract's 404 INVALID_SYMBOL with close suggestions. When no symbol list can be
had (every exchange down, nothing cached), symbols are only parsed, not checked: the data call then fails
on its own terms instead of the directory blocking every request.
"""

from __future__ import annotations

import logging

from suite_shared.cache import Cache, CacheResult, Fetched
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


async def known_pairs(cache: Cache, chain: ProviderChain[None, ExchangeInfo]) -> set[str] | None:
    try:
        info = await exchange_info(cache, chain)
    except (UpstreamError, UpstreamTimeout, UpstreamUnavailable) as exc:
        log.warning("no symbol list to check against: %s", exc)
        return None
    return {row["symbol"] for row in info.value["symbols"] if row["active"]}


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
    pairs = await known_pairs(cache, chain)
    if pairs is None:
        pair = parse_pair(raw)
        return Pair(pair.base, quote) if quote else pair
    assets = {name for pair in pairs for name in pair.split("/")}
    pair = parse_pair(raw, assets)
    pair = Pair(pair.base, quote) if quote else pair
    require_known(pair.base, assets, raw)
    checked = f"{pair.base}/{quote_for_usd if pair.quote == 'USD' else pair.quote}"
    if checked not in pairs:
        raise unknown_pair(checked, pairs, raw)
    return pair


def unknown_pair(pair: str, pairs: set[str], raw: str) -> InvalidSymbol:
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
