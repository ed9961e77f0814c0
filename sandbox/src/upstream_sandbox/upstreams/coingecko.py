"""CoinGecko API v3 imitation (`/coins/markets`, `/global`, DeFi share, `/market_chart/range`, `/simple/price`).

Numbers are JSON numbers, dates ISO-8601 with milliseconds, as CoinGecko sends them; errors use its shapes.
Fiat rates other than USD are fixed synthetic values (documented in DATA_SOURCES.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..clock import DAY_MS, HOUR_MS, now_ms
from ..market_universe import CATEGORY_IDS, Quote, coin_by_id, iso, market_now, quote, series

PREFIX = "/coingecko/api/v3"
router = APIRouter()

FIAT_PER_USD = {
    "usd": 1.0,
    "eur": 0.92,
    "gbp": 0.79,
    "jpy": 150.0,
    "cny": 7.2,
    "krw": 1350.0,
    "inr": 83.0,
    "cad": 1.36,
    "aud": 1.52,
    "chf": 0.88,
    "brl": 5.0,
    "rub": 92.0,
    "try": 32.0,
    "hkd": 7.8,
    "sgd": 1.35,
}
CRYPTO_QUOTES = ("btc", "eth", "bnb")
ORDERS = {
    "market_cap_desc": lambda q: -q.market_cap,
    "market_cap_asc": lambda q: q.market_cap,
    "volume_desc": lambda q: -q.volume_24h,
    "volume_asc": lambda q: q.volume_24h,
    "id_asc": lambda q: q.coin.id,
    "id_desc": lambda q: tuple(-ord(c) for c in q.coin.id),
}


def rate(vs_currency: str, at_ms: int) -> float | None:
    """Units of `vs_currency` per USD."""
    if vs_currency in FIAT_PER_USD:
        return FIAT_PER_USD[vs_currency]
    if vs_currency in CRYPTO_QUOTES:
        return 1.0 / series(vs_currency.upper()).price_at(at_ms)
    return None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@router.get("/ping")
async def ping() -> dict[str, str]:
    return {"gecko_says": "(V3) To the Moon!"}


@router.get("/simple/supported_vs_currencies")
async def supported() -> list[str]:
    return [*CRYPTO_QUOTES, *FIAT_PER_USD]


@router.get("/coins/markets", response_model=None)
async def coins_markets(
    vs_currency: str,
    order: str = "market_cap_desc",
    per_page: int = Query(100, ge=1, le=250),
    page: int = Query(1, ge=1),
    category: str | None = None,
    ids: str | None = None,
    price_change_percentage: str = "",
    sparkline: bool = False,
) -> Any:
    at = now_ms()
    fx = rate(vs_currency.lower(), at)
    if fx is None:
        return error(400, "invalid vs_currency")
    ranked = market_now()
    ranks = {item.coin.id: position + 1 for position, item in enumerate(ranked)}
    chosen = ranked
    if category is not None:
        wanted = {key for key, value in CATEGORY_IDS.items() if value == category}
        if not wanted:
            return error(404, "category not found")
        chosen = [item for item in chosen if item.coin.category in wanted]
    if ids:
        wanted_ids = set(ids.split(","))
        chosen = [item for item in chosen if item.coin.id in wanted_ids]
    chosen = sorted(chosen, key=ORDERS.get(order, ORDERS["market_cap_desc"]))
    start = (page - 1) * per_page
    periods = {part.strip() for part in price_change_percentage.split(",") if part.strip()}
    return [_market_row(item, ranks[item.coin.id], fx, periods) for item in chosen[start : start + per_page]]


def _market_row(item: Quote, rank: int, fx: float, periods: set[str]) -> dict[str, Any]:
    coin, price = item.coin, item.price * fx
    row: dict[str, Any] = {
        "id": coin.id,
        "symbol": coin.symbol.lower(),
        "name": coin.name,
        "image": f"https://assets.coingecko.com/coins/images/sandbox/large/{coin.id}.png",
        "current_price": price,
        "market_cap": round(item.market_cap * fx),
        "market_cap_rank": rank,
        "fully_diluted_valuation": round((coin.max_supply or coin.supply) * price),
        "total_volume": round(item.volume_24h * fx),
        "high_24h": item.high_24h * fx,
        "low_24h": item.low_24h * fx,
        "price_change_24h": price - price / (1 + item.change_24h / 100),
        "price_change_percentage_24h": item.change_24h,
        "market_cap_change_24h": item.market_cap * fx * item.change_24h / 100,
        "market_cap_change_percentage_24h": item.change_24h,
        "circulating_supply": coin.supply,
        "total_supply": coin.max_supply or coin.supply,
        "max_supply": coin.max_supply,
        "ath": item.ath * fx,
        "ath_change_percentage": (item.price / item.ath - 1) * 100,
        "ath_date": iso(item.ath_ms),
        "atl": item.atl * fx,
        "atl_change_percentage": (item.price / item.atl - 1) * 100,
        "atl_date": iso(item.atl_ms),
        "roi": None,
        "last_updated": iso(now_ms() // 1000 * 1000),
    }
    changes = {"1h": item.change_1h, "24h": item.change_24h, "7d": item.change_7d}
    for period in periods & set(changes):
        row[f"price_change_percentage_{period}_in_currency"] = changes[period]
    return row


@router.get("/global")
async def global_figures() -> dict[str, Any]:
    ranked = market_now()
    total_cap = sum(item.market_cap for item in ranked)
    total_volume = sum(item.volume_24h for item in ranked)
    at = now_ms()
    shares = {item.coin.symbol.lower(): item.market_cap / total_cap * 100 for item in ranked[:10]}
    change = sum(item.market_cap * item.change_24h for item in ranked) / total_cap
    return {
        "data": {
            "active_cryptocurrencies": len(ranked),
            "upcoming_icos": 0,
            "ongoing_icos": 49,
            "ended_icos": 3376,
            "markets": 1125,
            "total_market_cap": {
                currency: total_cap * fx
                for currency in ["usd", *FIAT_PER_USD, *CRYPTO_QUOTES]
                if (fx := rate(currency, at)) is not None
            },
            "total_volume": {
                currency: total_volume * fx
                for currency in ["usd", *FIAT_PER_USD, *CRYPTO_QUOTES]
                if (fx := rate(currency, at)) is not None
            },
            "market_cap_percentage": shares,
            "market_cap_change_percentage_24h_usd": change,
            "updated_at": at // 1000,
        }
    }


@router.get("/global/decentralized_finance_defi")
async def defi() -> dict[str, Any]:
    ranked = market_now()
    total_cap = sum(item.market_cap for item in ranked)
    defi_items = [item for item in ranked if item.coin.category == "defi"]
    defi_cap = sum(item.market_cap for item in defi_items)
    eth_cap = next(item.market_cap for item in ranked if item.coin.symbol == "ETH")
    top = max(defi_items, key=lambda item: item.market_cap)
    return {
        "data": {
            "defi_market_cap": f"{defi_cap:.16f}",
            "eth_market_cap": f"{eth_cap:.16f}",
            "defi_to_eth_ratio": f"{defi_cap / eth_cap * 100:.16f}",
            "trading_volume_24h": f"{sum(item.volume_24h for item in defi_items):.16f}",
            "defi_dominance": f"{defi_cap / total_cap * 100:.16f}",
            "top_coin_name": top.coin.name,
            "top_coin_defi_dominance": top.market_cap / defi_cap * 100,
        }
    }


@router.get("/coins/{coin_id}/market_chart/range", response_model=None)
async def market_chart_range(
    coin_id: str, vs_currency: str, from_: int = Query(alias="from"), to: int = Query()
) -> Any:
    coin = coin_by_id(coin_id)
    fx = rate(vs_currency.lower(), now_ms())
    if coin is None:
        return error(404, "coin not found")
    if fx is None:
        return error(400, "invalid vs_currency")
    start, end = from_ * 1000, min(to * 1000, now_ms())
    # CoinGecko's automatic granularity: 5-minutely within a day, hourly within 90 days, daily beyond.
    step = 300_000 if end - start <= DAY_MS else HOUR_MS if end - start <= 90 * DAY_MS else DAY_MS
    times = range(start - start % step + step, end + 1, step)
    points = [(t, quote(coin, t)) for t in times]
    return {
        "prices": [[t, item.price * fx] for t, item in points],
        "market_caps": [[t, item.market_cap * fx] for t, item in points],
        "total_volumes": [[t, item.volume_24h * fx] for t, item in points],
    }


@router.get("/simple/price")
async def simple_price(
    ids: str,
    vs_currencies: str,
    include_24hr_change: bool = False,
    include_24hr_vol: bool = False,
    include_market_cap: bool = False,
    include_last_updated_at: bool = False,
) -> dict[str, Any]:
    at = now_ms()
    body: dict[str, Any] = {}
    for coin_id in ids.split(","):
        coin = coin_by_id(coin_id.strip())
        if coin is None:
            continue
        item = quote(coin, at)
        entry: dict[str, Any] = {}
        for currency in vs_currencies.lower().split(","):
            fx = rate(currency.strip(), at)
            if fx is None:
                continue
            entry[currency] = item.price * fx
            if include_market_cap:
                entry[f"{currency}_market_cap"] = item.market_cap * fx
            if include_24hr_vol:
                entry[f"{currency}_24h_vol"] = item.volume_24h * fx
            if include_24hr_change:
                entry[f"{currency}_24h_change"] = item.change_24h
        if include_last_updated_at:
            entry["last_updated_at"] = at // 1000
        body[coin.id] = entry
    return body
