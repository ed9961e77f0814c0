"""The Dreammaker frontend's other spellings of market endpoints (deprecated; README "Compatibility with the
Dreammaker frontend").

Each calls the canonical route's own function, so it is served from the same provider chains and caches
and never makes an upstream call of its own; only the shape of the answer differs, as the frontend reads it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, cast, get_args

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from suite_shared.compat import compat_route
from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES, Envelope, Meta
from suite_shared.errors import InvalidParameter
from suite_shared.symbols import parse_pair

from ..market import market_list
from ..models import Candle, MarketCoin, MarketQuery, MarketResponse, OhlcvResponse, Timeframe
from ..state import Market
from ..stats import trending
from .market import get_market
from .ohlcv import get_ohlcv
from .quotes import Convert, SymbolPath, get_price

router = APIRouter()

MULTI_MAX_SYMBOLS = 10
Limit = Annotated[int, Query(ge=1, le=500, description="number of coins")]
CandleLimit = Annotated[int, Query(ge=1, le=1000)]


class CoinsResponse(Envelope):
    coins: list[MarketCoin]


class TrendingResponse(Envelope):
    basis: str = Field(description="how `coins` were chosen")
    coins: list[MarketCoin]


class MultiOhlcvResponse(Envelope):
    timeframe: Timeframe
    data: dict[str, list[Candle]] = Field(description="candles per symbol, keyed as the request spelled it")


class Rate(BaseModel):
    pair: str
    price: float
    change24h: float | None = Field(None, description="percent")
    volume24h: float | None = Field(None, description="24 h traded value in the quote currency")
    high24h: float | None = None
    low24h: float | None = None


class RateResponse(Envelope, Rate):
    pass


class HistoryBar(BaseModel):
    timestamp: int = Field(description="open time, epoch ms")
    open: float
    high: float
    low: float
    close: float
    volume: float = Field(description="in the base asset")


class ServiceHistoryResponse(Envelope):
    symbol: str
    interval: Timeframe
    data: list[HistoryBar]


class MarketData(BaseModel):
    symbol: str
    price: float
    changePercent24h: float | None = None
    volume24h: float | None = Field(None, description="24 h traded value in the quote currency")
    high24h: float | None = None
    low24h: float | None = None


class MarketDataResponse(Envelope):
    data: MarketData


@router.get(
    "/api/coins/top", response_model=CoinsResponse, responses=ERROR_RESPONSES, **compat_route("GET /api/market")
)
async def coins_top(market: Market, ctx: Context, limit: Limit = 100) -> CoinsResponse:
    listed = await get_market(market, ctx, limit=limit, sort="rank", currency="usd", category="all")
    return CoinsResponse(coins=listed.items, meta=listed.meta)


@router.get(
    "/api/market/top", response_model=MarketResponse, responses=ERROR_RESPONSES, **compat_route("GET /api/market")
)
async def market_top(market: Market, ctx: Context, limit: Limit = 100) -> MarketResponse:
    return await get_market(market, ctx, limit=limit, sort="rank", currency="usd", category="all")


@router.get(
    "/api/trending",
    response_model=TrendingResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/stats", "Top movers: the largest 24 h changes, up or down, among coins traded ≥ $1M."),
)
async def get_trending(
    market: Market, ctx: Context, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> TrendingResponse:
    result = await market_list(ctx.cache, market.chains.market, MarketQuery(count=250))  # /api/stats's list
    coins = trending([MarketCoin.model_validate(row) for row in result.value], limit)
    basis = "top movers: largest absolute 24 h change among the top 250 coins with at least $1M traded in 24 h"
    return TrendingResponse(basis=basis, coins=coins, meta=result.meta())


@router.get(
    "/api/market/ohlc",
    response_model=OhlcvResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/ohlcv"),
)
async def market_ohlc(
    market: Market,
    ctx: Context,
    symbol: Annotated[str, Query(min_length=1)],
    timeframe: Timeframe = "1h",
    limit: CandleLimit = 100,
) -> OhlcvResponse:
    return await get_ohlcv(market, ctx, symbol=symbol, timeframe=timeframe, limit=limit, since=None, until=None)


@router.get(
    "/api/ohlcv/multi",
    response_model=MultiOhlcvResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/ohlcv", f"At most {MULTI_MAX_SYMBOLS} symbols."),
)
async def ohlcv_multi(
    market: Market,
    ctx: Context,
    symbols: Annotated[
        str, Query(min_length=1, description="comma-separated, e.g. BTCUSDT,ETHUSDT", examples=["BTCUSDT,ETHUSDT"])
    ],
    timeframe: Timeframe = "1h",
    limit: CandleLimit = 100,
) -> MultiOhlcvResponse:
    names = list(dict.fromkeys(name.strip() for name in symbols.split(",") if name.strip()))
    if not names or len(names) > MULTI_MAX_SYMBOLS:
        raise InvalidParameter(
            f"Give 1 to {MULTI_MAX_SYMBOLS} comma-separated symbols.", {"parameter": "symbols", "count": len(names)}
        )
    answers = await asyncio.gather(
        *(
            get_ohlcv(market, ctx, symbol=name, timeframe=timeframe, limit=limit, since=None, until=None)
            for name in names
        )
    )
    data = {name: answer.data for name, answer in zip(names, answers, strict=True)}
    return MultiOhlcvResponse(timeframe=timeframe, data=data, meta=oldest([answer.meta for answer in answers]))


@router.get(
    "/api/ohlcv/{symbol:path}",
    response_model=OhlcvResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/ohlcv", "The symbol is in the path instead of the query."),
)
async def ohlcv_by_path(
    market: Market, ctx: Context, symbol: SymbolPath, timeframe: Timeframe = "1h", limit: CandleLimit = 100
) -> OhlcvResponse:
    return await get_ohlcv(market, ctx, symbol=symbol, timeframe=timeframe, limit=limit, since=None, until=None)


@router.get(
    "/api/service/rate",
    response_model=RateResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/price/{symbol}", "`pair` BTC/USDT is the price of BTC in USDT."),
)
async def service_rate(
    market: Market,
    ctx: Context,
    pair: Annotated[str, Query(min_length=1, description="e.g. BTC/USDT", examples=["BTC/USDT"])],
) -> RateResponse:
    parsed = parse_pair(pair)
    convert = parsed.quote.lower()
    if convert not in get_args(Convert):
        raise InvalidParameter(
            f"Rates are quoted in {', '.join(get_args(Convert))}.", {"parameter": "pair", "quote": parsed.quote}
        )
    quote = await get_price(market, ctx, symbol=parsed.base, convert=cast(Convert, convert), include_24h=True)
    return RateResponse(
        pair=quote.symbol,
        price=quote.price,
        change24h=quote.change_24h,
        volume24h=quote.volume_24h,
        high24h=quote.high_24h,
        low24h=quote.low_24h,
        meta=quote.meta,
    )


@router.get(
    "/api/service/history",
    response_model=ServiceHistoryResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/ohlcv", "`interval` is the candle timeframe."),
)
async def service_history(
    market: Market,
    ctx: Context,
    symbol: Annotated[str, Query(min_length=1)],
    interval: Timeframe = "1h",
    limit: CandleLimit = 100,
) -> ServiceHistoryResponse:
    candles = await get_ohlcv(market, ctx, symbol=symbol, timeframe=interval, limit=limit, since=None, until=None)
    bars = [
        HistoryBar(timestamp=candle.t, open=candle.o, high=candle.h, low=candle.l, close=candle.c, volume=candle.v)
        for candle in candles.data
    ]
    return ServiceHistoryResponse(symbol=candles.symbol, interval=interval, data=bars, meta=candles.meta)


@router.get(
    "/api/market-data/{symbol:path}",
    response_model=MarketDataResponse,
    responses=ERROR_RESPONSES,
    **compat_route("GET /api/price/{symbol}"),
)
async def market_data(market: Market, ctx: Context, symbol: Annotated[str, Path(min_length=1)]) -> MarketDataResponse:
    quote = await get_price(market, ctx, symbol=symbol, convert="usd", include_24h=True)
    data = MarketData(
        symbol=quote.symbol,
        price=quote.price,
        changePercent24h=quote.change_24h,
        volume24h=quote.volume_24h,
        high24h=quote.high_24h,
        low24h=quote.low_24h,
    )
    return MarketDataResponse(data=data, meta=quote.meta)


def oldest(metas: list[Meta]) -> Meta:
    """One provenance for several answers: the oldest data's, stale if any was."""
    worst = max(metas, key=lambda meta: (meta.stale, meta.age_ms or 0))
    tried = list(dict.fromkeys(source for meta in metas for source in meta.sources_tried))
    return worst.model_copy(update={"sources_tried": tried, "stale": any(meta.stale for meta in metas)})
