"""An address's transaction history: validated, fetched through the provider chain, cached for a minute."""

from __future__ import annotations

from suite_shared.cache import Cache, CacheResult, Fetched
from suite_shared.envelope import now_ms
from suite_shared.errors import UpstreamError
from suite_shared.providers import ProviderChain
from suite_shared.upstream import UpstreamFailure

from .addresses import ADDRESS_CHAINS, canonical_chain, normalise_address
from .models import OnchainTransaction, TransactionQuery

CACHE_KIND = "default"  # the contract's "everything else": 60 s


def transaction_query(address: str, chain: str, limit: int, offset: int) -> TransactionQuery:
    """The query for a request, or a 400 naming the bad chain or address."""
    canonical = canonical_chain(chain, ADDRESS_CHAINS)
    return TransactionQuery.model_validate(
        {"address": normalise_address(address, canonical), "chain": canonical, "limit": limit, "offset": offset}
    )


async def address_transactions(
    cache: Cache, chain: ProviderChain[TransactionQuery, list[OnchainTransaction]], query: TransactionQuery
) -> CacheResult:
    """The cached page of `query.address`'s history; values are stored with the wire names (`from`)."""

    async def fetch() -> Fetched:
        try:
            result = await chain.run(query)
        except UpstreamFailure as failure:  # a refusal no provider mapped: still the contract's 502
            raise UpstreamError(f"{failure.upstream} refused the request.", {"reason": failure.reason}) from failure
        rows = [tx.model_dump(by_alias=True) for tx in result.value]
        return Fetched(rows, result.source, result.sources_tried, now_ms())

    key = f"onchain:transactions:{query.chain}:{query.address}:{query.limit}:{query.offset}"
    return await cache.get_or_fetch(CACHE_KIND, key, fetch)
