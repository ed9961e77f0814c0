"""Etherscan V2 (one multichain API, `chainid` selects the chain): normal transactions of an EVM address.

Etherscan answers HTTP 200 even for errors; the body's `status`/`message`/`result` say what happened:
"No transactions found" is an empty history, an invalid-address result is the client's 400, and rate
limits, key or plan problems become failures the provider chain falls back on.
"""

from __future__ import annotations

from typing import Any

from suite_shared.errors import InvalidParameter
from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import UpstreamRateLimited, UpstreamRejected

from ..addresses import EVM_CHAINS
from ..models import OnchainTransaction, TransactionQuery, TransactionStatus
from .failures import ApiKeyRejected, UpstreamRefused, reclassify

CHAIN_IDS = {"ethereum": 1, "bsc": 56, "polygon": 137}
NATIVE_TOKENS = {"ethereum": "ETH", "bsc": "BNB", "polygon": "POL"}  # Polygon's MATIC became POL in 2024
WEI_PER_COIN = 10**18
WEI_PER_GWEI = 10**9


class EtherscanTransactions(Fetcher[TransactionQuery, list[OnchainTransaction]]):
    name = "etherscan"
    upstream = "etherscan"

    def supports(self, query: TransactionQuery) -> bool:
        return query.chain in EVM_CHAINS

    def build_request(self, query: TransactionQuery) -> UpstreamRequest:
        page, size = page_window(query.offset, query.limit)
        return UpstreamRequest(
            "/api",
            {
                "chainid": CHAIN_IDS[query.chain],
                "module": "account",
                "action": "txlist",
                "address": query.address,
                "page": page,
                "offset": size,
                "sort": "desc",
            },
        )

    async def extract(self, query: TransactionQuery) -> Any:
        try:
            body = await super().extract(query)
        except UpstreamRejected as failure:  # an HTTP-level 4xx (e.g. a proxy's 403): let Blockchair try
            raise reclassify(failure) from failure
        return checked_result(body, query.address, self.upstream)

    def transform(self, query: TransactionQuery, raw: Any) -> list[OnchainTransaction]:
        _, size = page_window(query.offset, query.limit)
        skip = query.offset % size if size else 0
        rows = list(raw)[skip : skip + query.limit]
        return [etherscan_transaction(row, NATIVE_TOKENS[query.chain]) for row in rows]


def page_window(offset: int, limit: int) -> tuple[int, int]:
    """Etherscan pages by (page, page size): an aligned offset maps to a page, any other to one wider page."""
    if offset % limit == 0:
        return offset // limit + 1, limit
    return 1, offset + limit


def checked_result(body: Any, address: str, upstream: str) -> Any:
    """The `result` list of an Etherscan body, or the failure its status/message/result describe."""
    if not isinstance(body, dict):
        return body  # transform rejects it as malformed
    if str(body.get("status")) == "1":
        return body.get("result")
    message, result = str(body.get("message", "")), body.get("result")
    if message.lower().startswith("no transactions found"):
        return []
    raise body_failure(upstream, address, f"{message}: {result}" if result else message)


def body_failure(upstream: str, address: str, text: str) -> Exception:
    """Classify an Etherscan error text (the words are Etherscan's own, matched loosely)."""
    lowered = text.lower()
    if "invalid address" in lowered:
        return InvalidParameter(
            f"The explorer rejected address {address!r}.",
            {"parameter": "address", "address": address, "upstream_message": text[:300]},
        )
    if "rate limit" in lowered:
        return UpstreamRateLimited(upstream, text[:300], 200)
    if "api key" in lowered or "api plan" in lowered or "apikey" in lowered:
        return ApiKeyRejected(upstream, text[:300], 200)
    return UpstreamRefused(upstream, text[:300] or "status 0 without a message", 200)


def etherscan_transaction(row: dict[str, Any], token: str) -> OnchainTransaction:
    gas_used, gas_price_wei = int(row["gasUsed"]), int(row["gasPrice"])
    return OnchainTransaction(
        hash=row["hash"],
        timestamp=int(row["timeStamp"]) * 1000,
        from_=row.get("from") or None,
        to=row.get("to") or None,
        value=int(row["value"]) / WEI_PER_COIN,
        token=token,
        status=evm_status(row),
        gas_used=gas_used,
        gas_price=gas_price_wei / WEI_PER_GWEI,
        fee=gas_used * gas_price_wei / WEI_PER_COIN,
    )


def evm_status(row: dict[str, Any]) -> TransactionStatus:
    """`isError` "1" or a receipt status "0" is a failed (reverted) transaction; txlist holds only mined ones."""
    if str(row.get("isError", "0")) == "1" or str(row.get("txreceipt_status", "1")) == "0":
        return "failed"
    return "success"
