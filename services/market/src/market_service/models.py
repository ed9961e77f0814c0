"""The market service's standard models: what every provider fills and every route returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from suite_shared.envelope import Envelope

MarketSort = Literal["rank", "volume", "price_change"]
MarketCategory = Literal["all", "defi", "nft", "meme"]


class MarketQuery(BaseModel):
    """What a provider is asked for: one currency and category, enough coins to cover `count`."""

    currency: str = "usd"
    category: MarketCategory = "all"
    count: int = Field(250, ge=1, le=500)


class MarketCoin(BaseModel):
    symbol: str
    name: str
    rank: int | None
    price: float | None
    change_24h: float | None = Field(None, description="percent")
    change_7d: float | None = Field(None, description="percent")
    volume_24h: float | None
    market_cap: float | None
    circulating_supply: float | None
    total_supply: float | None
    ath: float | None
    ath_date: str | None = Field(None, description="YYYY-MM-DD")
    atl: float | None
    atl_date: str | None = Field(None, description="YYYY-MM-DD")
    last_updated: str | None = Field(None, description="ISO-8601 UTC")


class MarketResponse(Envelope):
    items: list[MarketCoin]
    last_updated: str | None = None
