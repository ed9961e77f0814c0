"""GET /api/ohlcv: closed candles of one pair and timeframe (see candles.py for the semantics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES, now_ms
from suite_shared.errors import InvalidParameter
from suite_shared.response_cache import reusable_answer

from ..candles import candles, next_close
from ..directory import resolve_pair
from ..models import Candle, CandleQuery, OhlcvResponse, Timeframe
from ..state import Market

router = APIRouter(tags=["market"])


@router.get("/api/ohlcv", response_model=OhlcvResponse, responses=ERROR_RESPONSES)
async def get_ohlcv(
    market: Market,
    ctx: Context,
    symbol: Annotated[str, Query(min_length=1, description="BTC, BTC/USDT, BTCUSDT, …")],
    timeframe: Annotated[Timeframe, Query()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    since: Annotated[int | None, Query(ge=0, description="epoch ms, first candle's open time at or after")] = None,
    until: Annotated[int | None, Query(ge=0, description="epoch ms, last candle's open time at or before")] = None,
) -> OhlcvResponse:
    if since is not None and until is not None and until < since:
        raise InvalidParameter("until must not be before since.", {"since": since, "until": until})
    chains = market.chains
    pair = await resolve_pair(ctx.cache, chains.exchange_info, symbol)
    query = CandleQuery(base=pair.base, quote=pair.quote, timeframe=timeframe, limit=limit, since=since, until=until)
    # Taken before the candles are: a close in between only ends the answer's reuse early, never late.
    window_moves_at = next_close(timeframe, now_ms())
    result = await candles(ctx.cache, chains.candles, query, ctx.settings.ttl.ohlcv)
    data = [Candle.model_validate(row) for row in result.value]
    reusable_answer(result, valid_until_ms=window_moves_at)
    return OhlcvResponse(symbol=str(pair), timeframe=timeframe, data=data, meta=result.meta())
