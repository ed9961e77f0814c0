"""mempool.space (Esplora API): bitcoin address history, the fallback when Blockchair fails.

`/address/{a}/txs` gives unconfirmed transactions plus the newest 25 confirmed ones; older ones come 25 at a
time from `/address/{a}/txs/chain/{last_txid}`. Each transaction lists inputs (with the spent output) and
outputs, so the address's net change, the counterparty and the fee are all known.
"""

from __future__ import annotations

from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import UpstreamRejected

from ..models import OnchainTransaction, TransactionQuery
from .failures import reclassify

SATOSHI_PER_BTC = 100_000_000
CONFIRMED_PAGE = 25  # Esplora's page size for confirmed history
MAX_PAGES = 6  # bounds one request's upstream calls; deeper pages are left to Blockchair


class MempoolAddressTransactions(Fetcher[TransactionQuery, list[OnchainTransaction]]):
    name = "mempool"
    upstream = "mempool"

    def supports(self, query: TransactionQuery) -> bool:
        return query.chain == "bitcoin" and query.offset + query.limit <= CONFIRMED_PAGE * MAX_PAGES

    def build_request(self, query: TransactionQuery) -> UpstreamRequest:
        return UpstreamRequest(f"/address/{query.address}/txs")

    async def extract(self, query: TransactionQuery) -> Any:
        try:
            return await self._pages(query)
        except UpstreamRejected as failure:
            raise reclassify(failure, query.address) from failure

    async def _pages(self, query: TransactionQuery) -> list[Any]:
        """First page, then confirmed-history pages until the requested window is covered."""
        page = await super().extract(query)
        if not isinstance(page, list):
            return page  # transform rejects it as malformed
        rows: list[Any] = list(page)
        for _ in range(MAX_PAGES - 1):
            if len(rows) >= query.offset + query.limit or _confirmed(page) < CONFIRMED_PAGE:
                break
            path = f"/address/{query.address}/txs/chain/{rows[-1]['txid']}"
            page = await self.client.get_json(self.upstream, path)
            rows.extend(page)
        return rows

    def transform(self, query: TransactionQuery, raw: Any) -> list[OnchainTransaction]:
        window = list(raw)[query.offset : query.offset + query.limit]
        return [esplora_transaction(tx, query.address) for tx in window]


def _confirmed(page: list[Any]) -> int:
    return sum(1 for tx in page if isinstance(tx, dict) and tx.get("status", {}).get("confirmed"))


def esplora_transaction(tx: dict[str, Any], address: str) -> OnchainTransaction:
    """One Esplora transaction seen from `address`: net value moved, counterparty and fee in BTC."""
    spent = sum(int(vin["prevout"]["value"]) for vin in tx["vin"] if _input_address(vin) == address)
    received = sum(int(out["value"]) for out in tx["vout"] if out.get("scriptpubkey_address") == address)
    status = tx.get("status") or {}
    sent = spent > received
    return OnchainTransaction(
        hash=tx["txid"],
        timestamp=int(status["block_time"]) * 1000 if status.get("block_time") else None,
        from_=address if sent else _first_sender(tx, address),
        to=_first_recipient(tx, address) if sent else address,
        value=abs(received - spent) / SATOSHI_PER_BTC,
        token="BTC",
        status="success" if status.get("confirmed") else "pending",
        fee=int(tx.get("fee", 0)) / SATOSHI_PER_BTC,
    )


def _input_address(vin: dict[str, Any]) -> str | None:
    prevout = vin.get("prevout") or {}  # null for a coinbase input
    return prevout.get("scriptpubkey_address")


def _first_sender(tx: dict[str, Any], address: str) -> str | None:
    return next((a for a in map(_input_address, tx["vin"]) if a and a != address), None)


def _first_recipient(tx: dict[str, Any], address: str) -> str | None:
    outputs = (out.get("scriptpubkey_address") for out in tx["vout"])
    return next((a for a in outputs if a and a != address), None)
