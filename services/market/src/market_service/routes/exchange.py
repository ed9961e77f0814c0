"""GET /api/exchange-info: every pair of the primary exchange with its trading limits and fees."""

from __future__ import annotations

from fastapi import APIRouter

from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES

from ..directory import exchange_info
from ..models import ExchangeInfo, ExchangeInfoResponse
from ..state import Market

router = APIRouter(tags=["market"])


@router.get("/api/exchange-info", response_model=ExchangeInfoResponse, responses=ERROR_RESPONSES)
async def get_exchange_info(market: Market, ctx: Context) -> ExchangeInfoResponse:
    result = await exchange_info(ctx.cache, market.chains.exchange_info)
    info = ExchangeInfo.model_validate(result.value)
    return ExchangeInfoResponse(exchange=info.exchange, symbols=info.symbols, meta=result.meta())
