"""CoinCap: the fallback for the market list (`/assets`). USD only, no categories, no 7-day change or ATH."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest

from ..models import MarketCoin, MarketQuery


class CoinCapAssets(Fetcher[MarketQuery, list[MarketCoin]]):
    name = "coincap"
    upstream = "coincap"

    def supports(self, query: MarketQuery) -> bool:
        return query.currency == "usd" and query.category == "all"

    def build_request(self, query: MarketQuery) -> UpstreamRequest:
        return UpstreamRequest("/assets", {"limit": max(query.count, 250)})

    def transform(self, query: MarketQuery, raw: Any) -> list[MarketCoin]:
        updated = datetime.fromtimestamp(raw["timestamp"] / 1000, tz=UTC).isoformat().replace("+00:00", "Z")
        return [_coin(row, updated) for row in raw["data"]]


def _coin(row: dict[str, Any], updated: str) -> MarketCoin:
    return MarketCoin(
        symbol=row["symbol"].upper(),
        name=row["name"],
        rank=int(row["rank"]),
        price=_number(row["priceUsd"]),
        change_24h=_number(row.get("changePercent24Hr")),
        change_7d=None,
        volume_24h=_number(row.get("volumeUsd24Hr")),
        market_cap=_number(row.get("marketCapUsd")),
        circulating_supply=_number(row.get("supply")),
        total_supply=_number(row.get("maxSupply")),
        ath=None,
        ath_date=None,
        atl=None,
        atl_date=None,
        last_updated=updated,
    )


def _number(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None
