"""CoinGecko global figures (`/global`, `/global/decentralized_finance_defi`) and price history
(`/coins/{id}/market_chart/range`)."""

from __future__ import annotations

import logging
from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import UpstreamFailure

from ..models import GlobalSnapshot, GlobalStats, HistoryPoint, HistoryQuery

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
# CoinGecko picks the granularity from the range: 5-minutely up to 1 day, hourly up to 90 days, daily beyond.
HOURLY_RANGE_MS = 90 * DAY_MS


class CoinGeckoGlobal(Fetcher[None, GlobalSnapshot]):
    name = upstream = "coingecko"

    def build_request(self, query: None) -> UpstreamRequest:
        return UpstreamRequest("/global")

    async def extract(self, query: None) -> dict[str, Any]:
        body = await super().extract(query)
        try:
            defi = await self.client.get_json(self.upstream, "/global/decentralized_finance_defi")
        except UpstreamFailure as failure:  # the DeFi share is a detail: its absence leaves it null
            log.warning("no DeFi dominance: %s", failure)
            defi = None
        return {"global": body, "defi": defi}

    def transform(self, query: None, raw: Any) -> GlobalSnapshot:
        data = raw["global"]["data"]
        shares = {asset.upper(): float(share) for asset, share in data["market_cap_percentage"].items()}
        defi = (raw["defi"] or {}).get("data") or {}
        stats = GlobalStats(
            total_market_cap=data["total_market_cap"]["usd"],
            total_volume_24h=data["total_volume"]["usd"],
            bitcoin_dominance=shares.get("BTC"),
            ethereum_dominance=shares.get("ETH"),
            defi_dominance=float(defi["defi_dominance"]) if defi.get("defi_dominance") else None,
            market_cap_change_24h=data.get("market_cap_change_percentage_24h_usd"),
            active_cryptocurrencies=data.get("active_cryptocurrencies"),
            active_exchanges=data.get("markets"),  # CoinGecko's `markets` counts exchanges
        )
        return GlobalSnapshot(stats=stats, dominance=shares)


class CoinGeckoHistory(Fetcher[HistoryQuery, list[HistoryPoint]]):
    name = upstream = "coingecko"

    def supports(self, query: HistoryQuery) -> bool:
        hourly_possible = query.end - query.start <= HOURLY_RANGE_MS
        return query.coin_id is not None and (query.interval != "1h" or hourly_possible)

    def build_request(self, query: HistoryQuery) -> UpstreamRequest:
        return UpstreamRequest(
            f"/coins/{query.coin_id}/market_chart/range",
            {"vs_currency": "usd", "from": query.start // 1000, "to": query.end // 1000},
        )

    def transform(self, query: HistoryQuery, raw: Any) -> list[HistoryPoint]:
        caps = {int(t): float(v) for t, v in raw["market_caps"]}
        volumes = {int(t): float(v) for t, v in raw["total_volumes"]}
        return [
            HistoryPoint(timestamp=int(t), price=float(price), volume=volumes.get(int(t)), market_cap=caps.get(int(t)))
            for t, price in raw["prices"]
        ]
