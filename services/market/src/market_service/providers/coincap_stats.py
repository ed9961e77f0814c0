"""Global figures computed from CoinCap's asset list: the stats fallback when CoinGecko is down.

CoinCap has no global endpoint, so totals and shares are sums over its assets (up to 2000, which cover
nearly all of the market's capitalisation); exchange and market counts stay null.
"""

from __future__ import annotations

from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest

from ..models import GlobalSnapshot, GlobalStats


class CoinCapGlobal(Fetcher[None, GlobalSnapshot]):
    name = upstream = "coincap"

    def build_request(self, query: None) -> UpstreamRequest:
        return UpstreamRequest("/assets", {"limit": 2000})

    def transform(self, query: None, raw: Any) -> GlobalSnapshot:
        caps: dict[str, float] = {}
        volume = 0.0
        for row in raw["data"]:
            caps[row["symbol"].upper()] = caps.get(row["symbol"].upper(), 0.0) + float(row["marketCapUsd"] or 0)
            volume += float(row["volumeUsd24Hr"] or 0)
        total = sum(caps.values())
        shares = {symbol: cap / total * 100 for symbol, cap in caps.items()} if total else {}
        stats = GlobalStats(
            total_market_cap=total,
            total_volume_24h=volume,
            bitcoin_dominance=shares.get("BTC"),
            ethereum_dominance=shares.get("ETH"),
            active_cryptocurrencies=len(raw["data"]),
        )
        return GlobalSnapshot(stats=stats, dominance=shares)
