"""GET /api/stats, /api/stats/dominance and /api/history/price/{symbol}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES, now_ms
from suite_shared.errors import InvalidParameter, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from suite_shared.symbols import parse_asset, require_known

from ..directory import known_pairs
from ..market import market_list
from ..models import (
    DominanceResponse,
    HistoryInterval,
    HistoryPoint,
    HistoryQuery,
    HistoryResponse,
    MarketCoin,
    MarketQuery,
    MarketRow,
    StatsResponse,
)
from ..quotes import cached_chain
from ..state import Market, MarketState
from ..stats import bucket_end, bucket_start, dominance, global_snapshot, movers, resample

router = APIRouter(tags=["market"])

HISTORY_MAX_POINTS = 1000
MAX_TIME_MS = 4_102_444_800_000  # 2100-01-01: later times are mistakes, and would overflow date arithmetic
INTERVAL_MS = {"1h": 3_600_000, "1d": 86_400_000, "1w": 604_800_000, "1M": 2_629_746_000}


@router.get("/api/stats", response_model=StatsResponse, response_model_by_alias=True, responses=ERROR_RESPONSES)
async def get_stats(market: Market, ctx: Context) -> StatsResponse:
    snapshot, result = await global_snapshot(ctx.cache, market.chains.stats)
    coins = await market_list(ctx.cache, market.chains.market, MarketQuery(count=250))
    gainers, losers = movers([MarketCoin.model_validate(row) for row in coins.value])
    return StatsResponse.model_validate(
        {"global": snapshot.stats, "top_gainers": gainers, "top_losers": losers, "meta": result.meta()}
    )


@router.get("/api/stats/dominance", response_model=DominanceResponse, responses=ERROR_RESPONSES)
async def get_dominance(market: Market, ctx: Context) -> DominanceResponse:
    snapshot, result = await global_snapshot(ctx.cache, market.chains.stats)
    return DominanceResponse(dominance=dominance(snapshot), meta=result.meta())


@router.get("/api/history/price/{symbol:path}", response_model=HistoryResponse, responses=ERROR_RESPONSES)
async def get_price_history(
    market: Market,
    ctx: Context,
    symbol: Annotated[str, Path(description="an asset: BTC, btc (or a pair: its base)", examples=["BTC"])],
    start: Annotated[
        int,
        Query(alias="from", ge=0, le=MAX_TIME_MS, description="epoch ms (before 2100)", examples=[1_700_000_000_000]),
    ],
    end: Annotated[
        int,
        Query(
            alias="to",
            ge=0,
            le=MAX_TIME_MS,
            description=f"epoch ms, after `from`; at most {HISTORY_MAX_POINTS} `interval` points from `from`",
            examples=[1_702_592_000_000],
        ),
    ],
    interval: HistoryInterval = "1d",
) -> HistoryResponse:
    if end <= start:
        raise InvalidParameter("`to` must be after `from`.", {"from": start, "to": end})
    points = (end - start) // INTERVAL_MS[interval] + 1
    if points > HISTORY_MAX_POINTS:
        raise InvalidParameter(
            f"That range holds {points} {interval} points; at most {HISTORY_MAX_POINTS} per request.",
            {"from": start, "to": end, "interval": interval, "max_points": HISTORY_MAX_POINTS},
        )
    coin_ids = await _coin_ids(market, ctx)
    asset = require_known(parse_asset(symbol, set(coin_ids)), set(coin_ids), symbol)
    # Whole intervals only: every range inside the same buckets is one cache key and one upstream call.
    first, last = bucket_start(start, interval), bucket_end(end, interval)
    query = HistoryQuery(symbol=asset, coin_id=coin_ids[asset], start=first, end=last, interval=interval)
    result = await cached_chain(
        ctx.cache,
        "history",
        f"{asset}:{interval}:{first}:{last}",
        market.chains.history,
        query,
        forever=last < now_ms() - INTERVAL_MS[interval],
    )
    data = resample(
        [HistoryPoint.model_validate(row) for row in result.value], interval, bucket_start(start, interval), end
    )
    return HistoryResponse(symbol=asset, interval=interval, data=data, meta=result.meta())


async def _coin_ids(market: MarketState, ctx: Context) -> dict[str, str | None]:
    """Known assets and their CoinGecko ids (from the market list); exchange assets without ids if it is down."""
    chains = market.chains
    try:
        rows = (await market_list(ctx.cache, chains.market, MarketQuery(count=250))).value
    except (UpstreamError, UpstreamTimeout, UpstreamUnavailable):
        rows = []
    ids: dict[str, str | None] = {
        pair.split("/")[0]: None for pair in await known_pairs(ctx.cache, chains.exchange_info) or ()
    }
    for row in reversed(rows):  # the best-ranked coin wins a shared symbol
        ids[row["symbol"]] = MarketRow.model_validate(row).coin_id
    return ids
