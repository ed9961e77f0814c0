"""GET /api/market: the ranked market list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from suite_shared.deps import Context
from suite_shared.envelope import ERROR_RESPONSES
from suite_shared.errors import InvalidParameter
from suite_shared.response_cache import reusable_answer

from ..market import market_list, select
from ..models import MarketCategory, MarketQuery, MarketResponse, MarketSort
from ..state import Market

router = APIRouter(tags=["market"])

# CoinGecko's vs-currencies that we pass through (a subset of /simple/supported_vs_currencies).
SUPPORTED_CURRENCIES = frozenset(
    {
        "usd",
        "eur",
        "gbp",
        "jpy",
        "cny",
        "krw",
        "inr",
        "cad",
        "aud",
        "chf",
        "brl",
        "rub",
        "try",
        "hkd",
        "sgd",
        "btc",
        "eth",
        "bnb",
    }
)


@router.get("/api/market", response_model=MarketResponse, responses=ERROR_RESPONSES)
async def get_market(
    market: Market,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=500, description="number of coins")] = 100,
    sort: Annotated[MarketSort, Query()] = "rank",
    currency: Annotated[str, Query(min_length=3, max_length=5)] = "usd",
    category: Annotated[MarketCategory, Query()] = "all",
) -> MarketResponse:
    currency = currency.lower()
    if currency not in SUPPORTED_CURRENCIES:
        raise InvalidParameter(
            f"Unsupported currency {currency!r}.", {"parameter": "currency", "supported": sorted(SUPPORTED_CURRENCIES)}
        )
    query = MarketQuery(currency=currency, category=category, count=limit)
    result = await market_list(ctx.cache, market.chains.market, query)
    items = select(result.value, sort, limit)
    last = max((coin.last_updated for coin in items if coin.last_updated), default=None)
    reusable_answer(result)
    return MarketResponse(items=items, last_updated=last, meta=result.meta())
