"""The market service's NATS request/reply endpoints, answered by every replica (queue group "market"):

- `market.candles.get`: closed candles with GET /api/ohlcv's semantics;
- `market.stats.get`: global figures, dominance and the named assets' market-list rows (GET /api/stats's
  and /api/market's data).

Both go through the same symbol checks, caches and provider chains as the REST routes, so other services
see exactly what the API serves. A pool of workers answers candle requests (one slow upstream call does
not hold up the others); errors are answered with the contract's error code (see `Bus.serve`).
"""

from __future__ import annotations

from pydantic import TypeAdapter

from suite_shared.errors import InvalidParameter, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from suite_shared.messages.market import (
    AssetFigures,
    Candle,
    CandlesReply,
    CandlesRequest,
    MarketStatsReply,
    MarketStatsRequest,
)
from suite_shared.service import ServiceContext
from suite_shared.topics import MARKET_CANDLES_GET, MARKET_STATS_GET

from .candles import candles
from .chains import MarketChains
from .directory import resolve_pair
from .market import market_list
from .models import CandleQuery, MarketCoin, MarketQuery, Timeframe
from .stats import dominance, global_snapshot

TIMEFRAME: TypeAdapter[Timeframe] = TypeAdapter(Timeframe)
CANDLE_WORKERS = 8
MARKET_LIST_SIZE = 250


async def answer_candles(ctx: ServiceContext, chains: MarketChains, request: CandlesRequest) -> CandlesReply:
    timeframe = TIMEFRAME.validate_python(request.timeframe)
    _check_window(request)
    pair = await resolve_pair(ctx.cache, chains.exchange_info, request.symbol)
    query = CandleQuery(
        base=pair.base,
        quote=pair.quote,
        timeframe=timeframe,
        limit=request.limit,
        since=request.since,
        until=request.until,
    )
    result = await candles(ctx.cache, chains.candles, query, ctx.settings.ttl.ohlcv)
    return CandlesReply(
        symbol=str(pair),
        timeframe=query.timeframe,
        source=result.record.source,
        stale=result.stale,
        data=[Candle.model_validate(row) for row in result.value],
    )


def _check_window(request: CandlesRequest) -> None:
    """The REST route's limits on limit, since and until."""
    if not 1 <= request.limit <= 1000:
        raise InvalidParameter("limit must be between 1 and 1000.", {"limit": request.limit})
    if any(value is not None and value < 0 for value in (request.since, request.until)):
        raise InvalidParameter("since and until are epoch milliseconds, not negative.")
    if request.since is not None and request.until is not None and request.until < request.since:
        raise InvalidParameter("until must not be before since.", {"since": request.since, "until": request.until})


async def answer_stats(ctx: ServiceContext, chains: MarketChains, request: MarketStatsRequest) -> MarketStatsReply:
    snapshot, result = await global_snapshot(ctx.cache, chains.stats)
    wanted = {asset.upper() for asset in request.assets}
    assets: dict[str, AssetFigures] = {}
    if wanted:
        try:
            rows = (await market_list(ctx.cache, chains.market, MarketQuery(count=MARKET_LIST_SIZE))).value
        except (UpstreamError, UpstreamTimeout, UpstreamUnavailable):
            rows = []  # the global figures still stand; the assets are simply not there
        for row in rows:
            coin = MarketCoin.model_validate(row)
            if coin.symbol in wanted and coin.symbol not in assets:  # the best-ranked coin wins a symbol
                assets[coin.symbol] = AssetFigures.model_validate(coin.model_dump())
    return MarketStatsReply(
        total_market_cap=snapshot.stats.total_market_cap,
        total_volume_24h=snapshot.stats.total_volume_24h,
        dominance=dominance(snapshot),
        assets=assets,
        source=result.record.source,
        stale=result.stale,
    )


async def start(ctx: ServiceContext, chains: MarketChains) -> None:
    """Answer both endpoints (called once NATS is connected)."""

    async def on_candles(request: CandlesRequest) -> CandlesReply:
        return await answer_candles(ctx, chains, request)

    async def on_stats(request: MarketStatsRequest) -> MarketStatsReply:
        return await answer_stats(ctx, chains, request)

    await ctx.bus.serve(MARKET_CANDLES_GET, on_candles, workers=CANDLE_WORKERS)
    await ctx.bus.serve(MARKET_STATS_GET, on_stats)
