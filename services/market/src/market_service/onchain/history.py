"""An address's transaction history: validated, fetched through the provider chain, cached for a minute."""

from __future__ import annotations

from dataclasses import replace

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


PAGE = 100  # the largest page every explorer serves; any limit/offset is cut from whole pages


async def address_transactions(
    cache: Cache, chain: ProviderChain[TransactionQuery, list[OnchainTransaction]], query: TransactionQuery
) -> CacheResult:
    """`query.address`'s history, `limit` rows from `offset`, cut from cached pages of PAGE rows (so the
    client's choice of limit and offset never multiplies upstream calls); rows keep the wire names (`from`)."""
    first, last = query.offset // PAGE, (query.offset + query.limit - 1) // PAGE
    pages = [await _page(cache, chain, query, index) for index in range(first, last + 1)]
    rows = [row for page in pages for row in page.value]
    start = query.offset - first * PAGE
    return replace(pages[-1], value=rows[start : start + query.limit])


async def _page(
    cache: Cache, chain: ProviderChain[TransactionQuery, list[OnchainTransaction]], query: TransactionQuery, index: int
) -> CacheResult:
    query = query.model_copy(update={"offset": index * PAGE, "limit": PAGE})

    async def fetch() -> Fetched:
        try:
            result = await chain.run(query)
        except UpstreamFailure as failure:  # a refusal no provider mapped: still the contract's 502
            raise UpstreamError(f"{failure.upstream} refused the request.", {"reason": failure.reason}) from failure
        rows = [tx.model_dump(by_alias=True) for tx in result.value]
        return Fetched(rows, result.source, result.sources_tried, now_ms())

    key = f"onchain:transactions:{query.chain}:{query.address}:page:{index}"
    return await cache.get_or_fetch(CACHE_KIND, key, fetch)
