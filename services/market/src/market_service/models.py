"""The market service's standard models: what every provider fills and every route returns."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from suite_shared.envelope import Envelope
from suite_shared.messages.market import Candle

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


Timeframe = Literal["1m", "5m", "15m", "1h", "4h", "1d", "1w"]
TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
    "1w": 604_800_000,
}


class MarketRow(MarketCoin):
    """A market list row as cached: the public coin plus the provider's id (needed for history)."""

    coin_id: str | None = None


class PairQuery(BaseModel):
    """A request about one trading pair (ticker, book, trades)."""

    base: str
    quote: str
    limit: int = 0
    since: int | None = None

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"


class PriceQuote(BaseModel):
    symbol: str
    price: float
    change_24h: float | None = Field(None, description="percent")
    high_24h: float | None = None
    low_24h: float | None = None
    volume_24h: float | None = Field(None, description="24 h traded value in the quote currency")


class PriceResponse(Envelope, PriceQuote):
    pass


class Ticker(BaseModel):
    symbol: str = Field(description="pair, e.g. BTC/USDT")
    bid: float | None
    ask: float | None
    last: float
    volume: float | None = Field(None, description="24 h volume in the base asset")
    quote_volume: float | None = Field(None, description="24 h volume in the quote asset")


class TickerResponse(Envelope, Ticker):
    pass


class CandleQuery(BaseModel):
    base: str
    quote: str
    timeframe: Timeframe
    limit: int = 100
    since: int | None = None
    until: int | None = None


class OhlcvResponse(Envelope):
    symbol: str
    timeframe: Timeframe
    data: list[Candle]


class OrderBook(BaseModel):
    symbol: str
    bids: list[tuple[float, float]] = Field(description="[price, amount], best (highest) first")
    asks: list[tuple[float, float]] = Field(description="[price, amount], best (lowest) first")
    timestamp: int | None = None


class OrderBookResponse(Envelope, OrderBook):
    pass


class Trade(BaseModel):
    id: str
    timestamp: int
    price: float
    amount: float
    side: Literal["buy", "sell"] = Field(description="the taker's side")
    type: Literal["market", "limit"] | None = Field(None, description="null where the exchange does not publish it")


class TradesResponse(Envelope):
    symbol: str
    trades: list[Trade]


class ExchangeSymbol(BaseModel):
    symbol: str
    base: str
    quote: str
    active: bool
    min_amount: float | None
    max_amount: float | None
    min_price: float | None
    max_price: float | None
    maker_fee: float | None = Field(None, description="fraction, e.g. 0.001 = 0.1 %")
    taker_fee: float | None = Field(None, description="fraction")


class ExchangeInfo(BaseModel):
    exchange: str
    symbols: list[ExchangeSymbol]


class ExchangeInfoResponse(Envelope, ExchangeInfo):
    pass


class GlobalStats(BaseModel):
    total_market_cap: float | None
    total_volume_24h: float | None
    bitcoin_dominance: float | None = Field(None, description="percent of total market cap")
    ethereum_dominance: float | None = None
    defi_dominance: float | None = None
    market_cap_change_24h: float | None = Field(None, description="percent")
    volume_change_24h: float | None = Field(None, description="percent; null: no upstream publishes it")
    active_cryptocurrencies: int | None = None
    active_markets: int | None = Field(None, description="null: no upstream we use publishes it")
    active_exchanges: int | None = None


class GlobalSnapshot(BaseModel):
    """What a stats provider returns: the global figures and each asset's share of the total market cap."""

    stats: GlobalStats
    dominance: dict[str, float]


class Mover(BaseModel):
    symbol: str
    change_24h: float
    volume_24h: float | None


class StatsResponse(Envelope):
    global_: GlobalStats = Field(alias="global", serialization_alias="global")
    top_gainers: list[Mover]
    top_losers: list[Mover]


class DominanceResponse(Envelope):
    dominance: dict[str, float] = Field(description="percent of total market cap; BTC, ETH, … and others; sums to 100")


HistoryInterval = Literal["1h", "1d", "1w", "1M"]


class HistoryQuery(BaseModel):
    symbol: str
    coin_id: str | None = None
    start: int
    end: int
    interval: HistoryInterval


class HistoryPoint(BaseModel):
    timestamp: int
    price: float
    volume: float | None = Field(None, description="24 h traded value in USD at that time")
    market_cap: float | None = None


class HistoryResponse(Envelope):
    symbol: str
    interval: HistoryInterval
    data: list[HistoryPoint]
