"""Whale alerts: one cached upstream window at the plan's lowest threshold, the client's filters applied
locally — a client choosing thresholds freely cannot make more upstream calls (Whale Alert's budget is a
few calls a minute)."""

from __future__ import annotations

from suite_shared.cache import Cache, CacheResult, Fetched
from suite_shared.envelope import now_ms
from suite_shared.errors import UpstreamError
from suite_shared.providers import ProviderChain
from suite_shared.upstream import UpstreamFailure

from .addresses import canonical_chain
from .models import WhaleAlert, WhaleQuery

CACHE_KIND = "default"
UPSTREAM_MIN_USD = 500_000  # the smallest threshold Whale Alert's free plan accepts
WHALE_CHAINS: tuple[str, ...] = (
    "bitcoin",
    "ethereum",
    "bsc",
    "polygon",
    "tron",
    "ripple",
    "solana",
    "stellar",
    "cardano",
    "dogecoin",
    "litecoin",
    "bitcoincash",
    "algorand",
    "avalanche",
    "eos",
    "neo",
    "tezos",
    "binancechain",
)


def whale_chain(chain: str | None) -> str | None:
    """The canonical chain filter, None for all chains, or a 400 listing the supported ones."""
    return None if chain is None or not chain.strip() else canonical_chain(chain, WHALE_CHAINS)


UPSTREAM_QUERY = WhaleQuery(min_value_usd=UPSTREAM_MIN_USD)


async def recent_whales(
    cache: Cache, chain: ProviderChain[WhaleQuery, list[WhaleAlert]], query: WhaleQuery
) -> CacheResult:
    """The cached recent large transfers at `query`'s threshold (all chains, upstream order)."""

    async def fetch() -> Fetched:
        try:
            result = await chain.run(query)
        except UpstreamFailure as failure:
            raise UpstreamError(f"{failure.upstream} refused the request.", {"reason": failure.reason}) from failure
        rows = [alert.model_dump(by_alias=True) for alert in result.value]
        return Fetched(rows, result.source, result.sources_tried, now_ms())

    return await cache.get_or_fetch(CACHE_KIND, f"onchain:whales:{query.min_value_usd}", fetch)


def select_alerts(
    rows: list[dict[str, object]], min_value_usd: float, chain: str | None, limit: int
) -> list[WhaleAlert]:
    """Newest first, at or above the client's threshold, on the chosen chain, at most `limit`."""
    alerts = [WhaleAlert.model_validate(row) for row in rows]
    kept = [a for a in alerts if a.usd_value >= min_value_usd and (chain is None or a.chain == chain)]
    return sorted(kept, key=lambda alert: alert.timestamp, reverse=True)[:limit]
