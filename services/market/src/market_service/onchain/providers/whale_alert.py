"""Whale Alert v1 `/transactions`: large transfers across chains, newest first after our sort.

The free plan only serves transfers of at least $500k from the last hour, at most 100 per call, so we ask
for the last 59 minutes (a minute of slack for clock skew) with the larger of the client's threshold and
$500k, and leave the client's own threshold, chain and limit to `whales.py`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import UpstreamRejected

from ..labels import owner_label
from ..models import WhaleAlert, WhaleQuery
from .failures import ApiKeyRejected, UpstreamRefused, reclassify

WINDOW_S = 3540
UPSTREAM_MAX_LIMIT = 100
HEX_WITHOUT_PREFIX = re.compile(r"^[0-9a-fA-F]{40}$|^[0-9a-fA-F]{64}$")
# Whale Alert names chains its own way; ours are the keys the route accepts.
CHAIN_NAMES = {
    "binancesmartchain": "bsc",
    "bnbsmartchain": "bsc",
    "matic": "polygon",
    "xrp": "ripple",
    "xrpl": "ripple",
    "avax": "avalanche",
    "avalanchec": "avalanche",
}
EVM_CHAINS = frozenset({"ethereum", "bsc", "polygon", "avalanche", "arbitrum", "optimism", "base"})


class WhaleAlertTransactions(Fetcher[WhaleQuery, list[WhaleAlert]]):
    name = "whale_alert"
    upstream = "whale_alert"

    def build_request(self, query: WhaleQuery) -> UpstreamRequest:
        return UpstreamRequest(
            "/transactions",
            {"min_value": query.min_value_usd, "limit": UPSTREAM_MAX_LIMIT, "start": int(time.time()) - WINDOW_S},
        )

    async def extract(self, query: WhaleQuery) -> Any:
        try:
            body = await super().extract(query)
        except UpstreamRejected as failure:
            raise reclassify(failure) from failure
        if isinstance(body, dict) and body.get("result") not in (None, "success"):
            raise body_failure(self.upstream, str(body.get("message", "")))
        return body

    def transform(self, query: WhaleQuery, raw: Any) -> list[WhaleAlert]:
        if raw["result"] != "success":
            raise ValueError(f"result {raw['result']!r}")
        return [whale_alert(tx) for tx in raw.get("transactions") or []]  # omitted when count is 0


def body_failure(upstream: str, message: str) -> Exception:
    """An error body: key problems fall back like an outage, anything else is a refusal."""
    if "key" in message.lower():
        return ApiKeyRejected(upstream, message[:300] or "api key rejected")
    return UpstreamRefused(upstream, message[:300] or "error without a message")


def whale_alert(tx: dict[str, Any]) -> WhaleAlert:
    chain = chain_name(tx["blockchain"])
    sender, recipient = tx.get("from") or {}, tx.get("to") or {}
    return WhaleAlert(
        id=str(tx["id"]),
        timestamp=int(tx["timestamp"]) * 1000,
        hash=evm_hex(chain, tx["hash"]),
        from_=evm_hex(chain, sender.get("address")),
        to=evm_hex(chain, recipient.get("address")),
        from_owner=owner_label(sender.get("owner"), sender.get("address")),
        to_owner=owner_label(recipient.get("owner"), recipient.get("address")),
        amount=float(tx["amount"]),
        token=str(tx["symbol"]).upper(),
        usd_value=float(tx.get("amount_usd") or 0.0),
        chain=chain,
        type=str(tx.get("transaction_type") or "transfer"),
    )


def chain_name(upstream_name: str) -> str:
    """Our name for an upstream chain name ("Bitcoin Cash" → "bitcoincash", "matic" → "polygon")."""
    name = re.sub(r"[\s_-]+", "", upstream_name.lower())
    return CHAIN_NAMES.get(name, name)


def evm_hex(chain: str, value: Any) -> Any:
    """EVM hashes and addresses with the 0x prefix Whale Alert leaves off (so they match explorers)."""
    if chain in EVM_CHAINS and isinstance(value, str) and HEX_WITHOUT_PREFIX.match(value):
        return f"0x{value.lower()}"
    return value
