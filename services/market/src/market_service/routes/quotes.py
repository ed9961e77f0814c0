"""GET /api/price, /api/ticker, /api/orderbook and /api/trades for one symbol (pairs route as paths)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES
from suite_shared.response_cache import reusable_answer
from suite_shared.symbols import Pair

from ..directory import resolve_pair
from ..models import (
    OrderBook,
    OrderBookResponse,
    PairQuery,
    PriceQuote,
    PriceResponse,
    Ticker,
    TickerResponse,
    Trade,
    TradesResponse,
)
from ..quotes import cached_chain, order_book, pair_key, recent_trades, trades_since
from ..state import Market, MarketState

router = APIRouter(tags=["market"])

SymbolPath = Annotated[str, Path(description="BTC, btc, BTC/USDT, BTC-USDT, BTCUSDT (a slash may be %2F)")]
Convert = Literal["usd", "usdt", "usdc", "eur", "btc", "eth"]


async def _pair(market: MarketState, ctx: Context, symbol: str, quote: str | None = None) -> Pair:
    return await resolve_pair(ctx.cache, market.chains.exchange_info, symbol, quote)


@router.get("/api/price/{symbol:path}", response_model=PriceResponse, responses=ERROR_RESPONSES)
async def get_price(
    market: Market, ctx: Context, symbol: SymbolPath, convert: Convert = "usd", include_24h: bool = True
) -> PriceResponse:
    pair = await _pair(market, ctx, symbol, quote=convert.upper())
    query = PairQuery(base=pair.base, quote=pair.quote)
    result = await cached_chain(ctx.cache, "price", pair_key(query), market.chains.price, query)
    quote = PriceQuote.model_validate(result.value)
    if not include_24h:
        quote = PriceQuote(symbol=quote.symbol, price=quote.price)
    reusable_answer(result)
    return PriceResponse(**quote.model_dump(), meta=result.meta())


@router.get("/api/ticker/{symbol:path}", response_model=TickerResponse, responses=ERROR_RESPONSES)
async def get_ticker(market: Market, ctx: Context, symbol: SymbolPath) -> TickerResponse:
    pair = await _pair(market, ctx, symbol)
    query = PairQuery(base=pair.base, quote=pair.quote)
    result = await cached_chain(ctx.cache, "ticker", pair_key(query), market.chains.ticker, query)
    reusable_answer(result)
    return TickerResponse(**Ticker.model_validate(result.value).model_dump(), meta=result.meta())


@router.get("/api/orderbook/{symbol:path}", response_model=OrderBookResponse, responses=ERROR_RESPONSES)
async def get_orderbook(
    market: Market, ctx: Context, symbol: SymbolPath, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> OrderBookResponse:
    pair = await _pair(market, ctx, symbol)
    result = await order_book(ctx.cache, market.chains.orderbook, PairQuery(base=pair.base, quote=pair.quote))
    book = OrderBook.model_validate(result.value)
    reusable_answer(result, timestamp_is_as_of=True)
    return OrderBookResponse(
        symbol=book.symbol,
        bids=book.bids[:limit],
        asks=book.asks[:limit],
        timestamp=result.record.as_of,
        meta=result.meta(),
    )


@router.get("/api/trades/{symbol:path}", response_model=TradesResponse, responses=ERROR_RESPONSES)
async def get_trades(
    market: Market,
    ctx: Context,
    symbol: SymbolPath,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    since: Annotated[int | None, Query(ge=0, description="epoch ms")] = None,
) -> TradesResponse:
    pair = await _pair(market, ctx, symbol)
    query = PairQuery(base=pair.base, quote=pair.quote, limit=limit)
    if since is None:
        result = await recent_trades(ctx.cache, market.chains.trades, query)
        rows = result.value[:limit]
    else:
        result = await trades_since(ctx.cache, market.chains.trades, query, since)
        rows = result.value
    trades = [Trade.model_validate(row) for row in rows]
    reusable_answer(result)
    return TradesResponse(symbol=str(pair), trades=trades, meta=result.meta())
