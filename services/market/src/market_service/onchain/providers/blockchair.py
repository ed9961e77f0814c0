"""Blockchair address dashboards: bitcoin history (primary) and ethereum history (Etherscan's fallback).

The bitcoin dashboard with `transaction_details=true` gives, per transaction, only the address's net
balance change (satoshi), so the counterparty is unknown: `from` is the address when it paid out, `to` when
it received, the other side is null, and no fee is given. The ethereum dashboard lists `calls` (top-level
and internal) with sender, recipient and value in wei, but no gas figures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import MalformedBody, UpstreamRejected

from ..models import OnchainTransaction, TransactionQuery, TransactionStatus
from .failures import reclassify

SATOSHI_PER_BTC = 100_000_000
WEI_PER_ETH = 10**18
MEMPOOL_BLOCK_ID = -1  # Blockchair's block_id for a transaction not yet in a block


class BlockchairDashboard(Fetcher[TransactionQuery, list[OnchainTransaction]]):
    """Shared request and error handling for Blockchair's address dashboards."""

    name = "blockchair"
    upstream = "blockchair"
    coin = "bitcoin"

    def supports(self, query: TransactionQuery) -> bool:
        return query.chain == self.coin

    def build_request(self, query: TransactionQuery) -> UpstreamRequest:
        return UpstreamRequest(
            f"/{self.coin}/dashboards/address/{query.address}", {"limit": query.limit, "offset": query.offset}
        )

    async def extract(self, query: TransactionQuery) -> Any:
        try:
            body = await super().extract(query)
        except UpstreamRejected as failure:
            raise reclassify(failure, query.address) from failure
        return address_entry(body, query.address, self.upstream)


class BlockchairBitcoin(BlockchairDashboard):
    coin = "bitcoin"

    def build_request(self, query: TransactionQuery) -> UpstreamRequest:
        request = super().build_request(query)
        request.params["transaction_details"] = "true"
        return request

    def transform(self, query: TransactionQuery, raw: Any) -> list[OnchainTransaction]:
        return [bitcoin_transaction(row, query.address) for row in raw["transactions"][: query.limit]]


class BlockchairEthereum(BlockchairDashboard):
    coin = "ethereum"

    def transform(self, query: TransactionQuery, raw: Any) -> list[OnchainTransaction]:
        return [ethereum_call(row) for row in raw["calls"][: query.limit]]


def address_entry(body: Any, address: str, upstream: str) -> Any:
    """`data[address]` of a dashboard body; Blockchair's own error text when `data` is missing."""
    if not isinstance(body, dict):
        return body
    data = body.get("data")
    if not data:
        context = body.get("context") or {}
        raise MalformedBody(upstream, f"no data for the address: {context.get('error', 'no error given')}")
    if isinstance(data, dict) and address not in data and len(data) == 1:
        return next(iter(data.values()))  # keyed by the explorer's spelling of the address
    return data[address]


def bitcoin_transaction(row: dict[str, Any], address: str) -> OnchainTransaction:
    change = int(row["balance_change"])
    return OnchainTransaction(
        hash=row["hash"],
        timestamp=blockchair_time(row.get("time")),
        from_=address if change < 0 else None,
        to=address if change >= 0 else None,
        value=abs(change) / SATOSHI_PER_BTC,
        token="BTC",
        status="pending" if row.get("block_id") == MEMPOOL_BLOCK_ID else "success",
    )


def ethereum_call(row: dict[str, Any]) -> OnchainTransaction:
    return OnchainTransaction(
        hash=row["transaction_hash"],
        timestamp=blockchair_time(row.get("time")),
        from_=row.get("sender"),
        to=row.get("recipient"),
        value=float(row["value"]) / WEI_PER_ETH,
        token="ETH",
        status=ethereum_status(row),
    )


def ethereum_status(row: dict[str, Any]) -> TransactionStatus:
    if row.get("block_id") == MEMPOOL_BLOCK_ID:
        return "pending"
    return "success" if row.get("transferred", True) else "failed"


def blockchair_time(text: str | None) -> int | None:
    """Blockchair's "YYYY-MM-DD HH:MM:SS" (UTC) as epoch ms."""
    if not text:
        return None
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() * 1000)
