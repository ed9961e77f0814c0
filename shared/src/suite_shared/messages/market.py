"""What the market service puts on NATS: live market events, and its `market.candles.get` and
`market.stats.get` request/reply bodies.

Events are normalised records (cryptofeed's habit): one shape per data type whatever the exchange, with
the exchange's own event time (`timestamp`) kept next to our receipt time (`received_at`), both epoch ms.
The same documents are the latest values kept in Redis (`latest_key`), so a subscriber's snapshot and its
live updates look alike. Pairs are canonical (`BTC/USDT`).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import Reply

EventSource = Literal["binance", "binance-rest"]
LATEST_TTL_S = 300  # a latest value older than this says more about a dead feed than about the market


class MarketEvent(BaseModel):
    """What every market event carries: the pair, both clocks and which feed produced it."""

    model_config = ConfigDict(frozen=True)
    kind: ClassVar[str] = "event"

    symbol: str = Field(description="pair, e.g. BTC/USDT")
    timestamp: int = Field(description="the exchange's event time, epoch ms")
    received_at: int = Field(description="when we received it, epoch ms")
    source: EventSource


class TickerEvent(MarketEvent):
    kind: ClassVar[str] = "ticker"

    price: float
    change_24h: float | None = Field(None, description="percent")
    volume_24h: float | None = Field(None, description="24 h traded value in the quote asset")
    high_24h: float | None = None
    low_24h: float | None = None
    bid: float | None = None
    ask: float | None = None


class TradeEvent(MarketEvent):
    kind: ClassVar[str] = "trade"

    id: str
    price: float
    amount: float = Field(description="in the base asset")
    side: Literal["buy", "sell"] = Field(description="the taker's side")


class Candle(BaseModel):
    """One closed candle: the row of GET /api/ohlcv and of the `market.candles.get` reply alike."""

    t: int = Field(description="open time, epoch ms")
    o: float
    h: float
    l: float  # noqa: E741 - the contract's field name
    c: float
    v: float = Field(description="volume in the base asset")


class CandleEvent(MarketEvent, Candle):
    """One update of a candle; `closed` is true once, for its final values."""

    kind: ClassVar[str] = "candle"

    timeframe: str
    closed: bool


class BookEvent(MarketEvent):
    """Top of the order book. Binance's book-ticker stream has no event time: `timestamp` is then our
    receipt time (equal to `received_at`), which the consumer can tell by the two being equal."""

    kind: ClassVar[str] = "book"

    bids: list[tuple[float, float]] = Field(description="[price, amount], best (highest) first")
    asks: list[tuple[float, float]] = Field(description="[price, amount], best (lowest) first")


def latest_key(kind: str, symbol: str, timeframe: str | None = None) -> str:
    """Redis key of the latest value of one event type and pair (`latest:ticker:BTC/USDT`,
    `latest:candle:1m:BTC/USDT`); the ingest writes it, the WebSocket snapshot reads it."""
    return f"latest:{kind}:{timeframe}:{symbol}" if timeframe else f"latest:{kind}:{symbol}"


def latest_key_of(event: MarketEvent) -> str:
    return latest_key(event.kind, event.symbol, event.timeframe if isinstance(event, CandleEvent) else None)


# -- market.candles.get (request-reply, queue group "market") ---------------------------------------------


class CandlesRequest(BaseModel):
    """Closed candles of one pair, with the same semantics as GET /api/ohlcv."""

    symbol: str
    timeframe: str
    limit: int = 100
    since: int | None = None
    until: int | None = None


class CandlesReply(Reply):
    symbol: str = ""
    timeframe: str = ""
    data: list[Candle] = Field(default_factory=list)
    source: str | None = None
    stale: bool = False


# -- market.stats.get (request-reply, queue group "market") ----------------------------------------------


class MarketStatsRequest(BaseModel):
    """Global market figures and, for the named assets, their market-list row (what other services need of
    GET /api/stats and /api/market, from the same caches)."""

    assets: list[str] = Field(default_factory=list, max_length=50, description="assets, e.g. BTC")


class AssetFigures(BaseModel):
    symbol: str
    rank: int | None = None
    price: float | None = None
    market_cap: float | None = None
    volume_24h: float | None = None
    change_24h: float | None = None


class MarketStatsReply(Reply):
    total_market_cap: float | None = None
    total_volume_24h: float | None = None
    dominance: dict[str, float] = Field(default_factory=dict, description="as GET /api/stats/dominance")
    assets: dict[str, AssetFigures] = Field(default_factory=dict, description="the requested assets that are listed")
    source: str | None = None
    stale: bool = False
