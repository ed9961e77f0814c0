"""CoinGecko: the primary source of the market list (`/coins/markets`)."""

from __future__ import annotations

import math
from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest

from ..models import MarketCoin, MarketQuery, MarketRow

PER_PAGE = 250
CATEGORY_IDS = {"defi": "decentralized-finance-defi", "nft": "non-fungible-tokens-nft", "meme": "meme-token"}


class CoinGeckoMarkets(Fetcher[MarketQuery, list[MarketCoin]]):
    name = "coingecko"
    upstream = "coingecko"

    def build_request(self, query: MarketQuery) -> UpstreamRequest:
        params: dict[str, Any] = {
            "vs_currency": query.currency,
            "order": "market_cap_desc",
            "per_page": PER_PAGE,
            "page": 1,
            "sparkline": "false",
            "price_change_percentage": "24h,7d",
        }
        if query.category != "all":
            params["category"] = CATEGORY_IDS[query.category]
        return UpstreamRequest("/coins/markets", params)

    async def extract(self, query: MarketQuery) -> list[Any]:
        request = self.build_request(query)
        rows: list[Any] = []
        for page in range(1, math.ceil(query.count / PER_PAGE) + 1):
            body = await self.client.get_json(self.upstream, request.path, {**request.params, "page": page})
            if not isinstance(body, list):
                body = [body]  # let transform reject it as malformed
            rows.extend(body)
            if len(body) < PER_PAGE:
                break
        return rows

    def transform(self, query: MarketQuery, raw: Any) -> list[MarketCoin]:
        return [_coin(row) for row in raw]


def _coin(row: dict[str, Any]) -> MarketRow:
    return MarketRow(
        coin_id=row["id"],
        symbol=row["symbol"].upper(),
        name=row["name"],
        rank=row.get("market_cap_rank"),
        price=row["current_price"],
        change_24h=row.get("price_change_percentage_24h_in_currency", row.get("price_change_percentage_24h")),
        change_7d=row.get("price_change_percentage_7d_in_currency"),
        volume_24h=row.get("total_volume"),
        market_cap=row.get("market_cap"),
        circulating_supply=row.get("circulating_supply"),
        total_supply=row.get("total_supply"),
        ath=row.get("ath"),
        ath_date=_date(row.get("ath_date")),
        atl=row.get("atl"),
        atl_date=_date(row.get("atl_date")),
        last_updated=row.get("last_updated"),
    )


def _date(value: str | None) -> str | None:
    return value[:10] if value else None
