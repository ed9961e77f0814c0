"""CoinCap API v2 imitation (`/assets`, `/assets/{id}`): `{"data": ..., "timestamp": ms}`, numbers as strings.

It serves the same market as the CoinGecko imitation, so a fallback from one to the other agrees.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..clock import now_ms
from ..market_universe import Quote, market_now

PREFIX = "/coincap/v2"
router = APIRouter()


def _asset(item: Quote, rank: int) -> dict[str, Any]:
    coin = item.coin
    vwap = (item.high_24h + item.low_24h + item.price) / 3
    return {
        "id": coin.id,
        "rank": str(rank),
        "symbol": coin.symbol,
        "name": coin.name,
        "supply": f"{coin.supply:.16f}",
        "maxSupply": f"{coin.max_supply:.16f}" if coin.max_supply else None,
        "marketCapUsd": f"{item.market_cap:.16f}",
        "volumeUsd24Hr": f"{item.volume_24h:.16f}",
        "priceUsd": f"{item.price:.16f}",
        "changePercent24Hr": f"{item.change_24h:.16f}",
        "vwap24Hr": f"{vwap:.16f}",
        "explorer": None,
    }


@router.get("/assets")
async def assets(
    limit: int = Query(100, ge=1, le=2000),
    offset: int = Query(0, ge=0),
    search: str | None = None,
    ids: str | None = None,
) -> dict[str, Any]:
    rows = [_asset(item, rank) for rank, item in enumerate(market_now(), start=1)]
    if search:
        needle = search.lower()
        rows = [
            row
            for row in rows
            if needle in row["id"] or needle in row["symbol"].lower() or needle in row["name"].lower()
        ]
    if ids:
        wanted = set(ids.split(","))
        rows = [row for row in rows if row["id"] in wanted]
    return {"data": rows[offset : offset + limit], "timestamp": now_ms()}


@router.get("/assets/{asset_id}", response_model=None)
async def asset(asset_id: str) -> Any:
    for rank, item in enumerate(market_now(), start=1):
        if item.coin.id == asset_id:
            return {"data": _asset(item, rank), "timestamp": now_ms()}
    return JSONResponse({"error": f"{asset_id} not found", "timestamp": now_ms()}, status_code=404)
