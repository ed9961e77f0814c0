"""Binance spot REST imitation (`/api/v3/...`): numbers as strings, request weights in
`X-MBX-USED-WEIGHT-1M`, errors as `{"code": -1121, "msg": "Invalid symbol."}` with HTTP 400.

Symbols are the sandbox market's coins against USDT (plus a few BTC/ETH/EUR pairs of the majors). Order
books and trades are synthetic around the live price, deterministic per second (see DATA_SOURCES.md).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from ..candles import INTERVAL_MS, klines
from ..clock import now_ms
from ..market_universe import Coin, coins, price_at, quote, series

PREFIX = "/binance"
router = APIRouter()

CROSS_PAIRS = {("ETH", "BTC"), ("BNB", "BTC"), ("SOL", "BTC"), ("BTC", "EUR"), ("ETH", "EUR"), ("BNB", "ETH")}
WEIGHTS = {
    "exchangeInfo": 20,
    "klines": 2,
    "ticker/24hr": 2,
    "ticker/price": 2,
    "ticker/bookTicker": 2,
    "depth": 5,
    "trades": 25,
    "aggTrades": 4,
    "avgPrice": 2,
    "time": 1,
    "ping": 1,
}
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
_used: dict[int, int] = {}


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        self.code, self.msg, self.status = code, msg, status


def _fmt(value: float) -> str:
    return f"{value:.8f}"


def _spend(weight: int) -> int:
    minute = int(time.time()) // 60
    _used[minute] = _used.get(minute, 0) + weight
    for old in [key for key in _used if key < minute]:
        del _used[old]
    return _used[minute]


def _answer(body: Any, weight: int) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        media_type="application/json;charset=UTF-8",
        headers={"X-MBX-USED-WEIGHT-1M": str(_spend(weight))},
    )


def _error(exc: BinanceError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "msg": exc.msg}, status_code=exc.status)


def symbols() -> dict[str, tuple[Coin, str]]:
    """Exchange symbol → (coin, quote asset)."""
    by_symbol = {coin.symbol: coin for coin in coins()}
    table = {f"{coin.symbol}USDT": (coin, "USDT") for coin in coins() if coin.symbol != "USDT"}
    for base, quote_asset in CROSS_PAIRS:
        table[f"{base}{quote_asset}"] = (by_symbol[base], quote_asset)
    return table


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= 1000:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")


def _resolve(symbol: str | None) -> tuple[str, Coin, str]:
    if not symbol:
        raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
    table = symbols()
    if symbol.upper() != symbol or symbol not in table:
        raise BinanceError(-1121, "Invalid symbol.")
    coin, quote_asset = table[symbol]
    return symbol, coin, quote_asset


def quote_rate(quote_asset: str, at_ms: int) -> float:
    """Quote-asset units per USD."""
    if quote_asset in ("USDT", "USD"):
        return 1.0
    if quote_asset == "EUR":
        return 0.92
    return 1.0 / series(quote_asset).price_at(at_ms)


def _seed(*parts: object) -> float:
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:8], 16) / float(1 << 32)


def ticker_24h(symbol: str, coin: Coin, quote_asset: str, at_ms: int, full: bool = True) -> dict[str, Any]:
    item, fx = quote(coin, at_ms), quote_rate(quote_asset, at_ms)
    last, opened = item.price * fx, item.price * fx / (1 + item.change_24h / 100)
    bid, ask = best_bid_ask(last)
    base_volume = item.volume_24h / item.price if item.price else 0.0
    second = at_ms // 1000
    body: dict[str, Any] = {
        "symbol": symbol,
        "priceChange": _fmt(last - opened),
        "priceChangePercent": f"{item.change_24h:.3f}",
        "weightedAvgPrice": _fmt((item.high_24h + item.low_24h + item.price) / 3 * fx),
        "prevClosePrice": _fmt(opened),
        "lastPrice": _fmt(last),
        "lastQty": _fmt(_seed(symbol, second) * 2),
        "bidPrice": _fmt(bid),
        "bidQty": _fmt(1 + _seed(symbol, second, "b") * 5),
        "askPrice": _fmt(ask),
        "askQty": _fmt(1 + _seed(symbol, second, "a") * 5),
        "openPrice": _fmt(opened),
        "highPrice": _fmt(item.high_24h * fx),
        "lowPrice": _fmt(item.low_24h * fx),
        "volume": _fmt(base_volume),
        "quoteVolume": _fmt(item.volume_24h * fx),
        "openTime": at_ms - 86_400_000,
        "closeTime": at_ms,
        "firstId": second * 3 - 86_400 * 3,
        "lastId": second * 3 + 2,
        "count": 86_400 * 3,
    }
    if not full:
        keep = (
            "symbol",
            "openPrice",
            "highPrice",
            "lowPrice",
            "lastPrice",
            "volume",
            "quoteVolume",
            "openTime",
            "closeTime",
            "firstId",
            "lastId",
            "count",
        )
        body = {key: body[key] for key in keep}
    return body


def best_bid_ask(price: float) -> tuple[float, float]:
    half_spread = max(price * 0.00005, 1e-8)
    return price - half_spread, price + half_spread


def _symbol_list(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    try:
        names = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from exc
    if not isinstance(names, list) or not names:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
    return [str(name) for name in names]


@router.get("/api/v3/ping")
async def ping() -> Response:
    return _answer({}, WEIGHTS["ping"])


@router.get("/api/v3/time")
async def server_time() -> Response:
    return _answer({"serverTime": now_ms()}, WEIGHTS["time"])


@router.get("/api/v3/exchangeInfo", response_model=None)
async def exchange_info(symbol: str | None = None) -> Response:
    table = symbols()
    names = [symbol] if symbol else sorted(table)
    if symbol and symbol not in table:
        return _error(BinanceError(-1121, "Invalid symbol."))
    at = now_ms()
    return _answer(
        {
            "timezone": "UTC",
            "serverTime": at,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "exchangeFilters": [],
            "symbols": [_symbol_info(name, *table[name], at) for name in names],
        },
        WEIGHTS["exchangeInfo"],
    )


def _symbol_info(name: str, coin: Coin, quote_asset: str, at_ms: int) -> dict[str, Any]:
    price = quote(coin, at_ms).price * quote_rate(quote_asset, at_ms)
    tick = 10 ** max(-8, int(f"{price:e}".split("e")[1]) - 4)
    step = 10 ** max(-8, min(0, -int(f"{max(1.0, 10 / max(price, 1e-8)):e}".split("e")[1]) + 2 - 4))
    return {
        "symbol": name,
        "status": "TRADING",
        "baseAsset": coin.symbol,
        "baseAssetPrecision": 8,
        "quoteAsset": quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _fmt(tick),
                "maxPrice": "1000000.00000000",
                "tickSize": _fmt(tick),
            },
            {"filterType": "LOT_SIZE", "minQty": _fmt(step), "maxQty": "9000000.00000000", "stepSize": _fmt(step)},
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


@router.get("/api/v3/klines", response_model=None)
async def get_klines(
    symbol: str | None = None,
    interval: str | None = None,
    startTime: int | None = None,
    endTime: int | None = None,
    limit: int = 500,
) -> Response:
    try:
        _name, coin, quote_asset = _resolve(symbol)
        if interval not in INTERVAL_MS:
            raise BinanceError(-1120, "Invalid interval.")
        _check_limit(limit)
    except BinanceError as exc:
        return _error(exc)
    fx = quote_rate(quote_asset, now_ms())
    rows = [
        [
            c.open_ms,
            _fmt(c.open * fx),
            _fmt(c.high * fx),
            _fmt(c.low * fx),
            _fmt(c.close * fx),
            _fmt(c.volume),
            c.close_ms,
            _fmt(c.quote_volume * fx),
            c.trades,
            _fmt(c.volume * 0.48),
            _fmt(c.quote_volume * fx * 0.48),
            "0",
        ]
        for c in klines(coin, interval, startTime, endTime, limit)
    ]
    return _answer(rows, WEIGHTS["klines"])


@router.get("/api/v3/ticker/24hr", response_model=None)
async def get_ticker_24h(
    symbol: str | None = None, symbols_: str | None = Query(None, alias="symbols"), type: str = "FULL"
) -> Response:
    return await _tickers(
        symbol,
        symbols_,
        lambda name, coin, q, at: ticker_24h(name, coin, q, at, type != "MINI"),
        (2, 40 if len(symbols_ or "") > 240 else 2, 80),
    )


@router.get("/api/v3/ticker/price", response_model=None)
async def get_ticker_price(symbol: str | None = None, symbols_: str | None = Query(None, alias="symbols")) -> Response:
    def price(name: str, coin: Coin, quote_asset: str, at: int) -> dict[str, str]:
        return {"symbol": name, "price": _fmt(quote(coin, at).price * quote_rate(quote_asset, at))}

    return await _tickers(symbol, symbols_, price, (2, 4, 4))


@router.get("/api/v3/ticker/bookTicker", response_model=None)
async def get_book_ticker(symbol: str | None = None, symbols_: str | None = Query(None, alias="symbols")) -> Response:
    return await _tickers(symbol, symbols_, book_ticker, (2, 4, 4))


def book_ticker(name: str, coin: Coin, quote_asset: str, at: int) -> dict[str, str]:
    bid, ask = best_bid_ask(quote(coin, at).price * quote_rate(quote_asset, at))
    second = at // 1000
    return {
        "symbol": name,
        "bidPrice": _fmt(bid),
        "bidQty": _fmt(1 + _seed(name, second, "b") * 5),
        "askPrice": _fmt(ask),
        "askQty": _fmt(1 + _seed(name, second, "a") * 5),
    }


async def _tickers(symbol: str | None, symbols_raw: str | None, build: Any, weights: tuple[int, int, int]) -> Response:
    """One symbol, a `symbols` list, or every symbol; `weights` = Binance's weights for (one, a list, all)."""
    at = now_ms()
    try:
        if symbol is not None:
            name, coin, quote_asset = _resolve(symbol)
            return _answer(build(name, coin, quote_asset, at), weights[0])
        names = _symbol_list(symbols_raw)
        resolved = (
            [_resolve(name) for name in names]
            if names is not None
            else [(name, *pair) for name, pair in sorted(symbols().items())]
        )
    except BinanceError as exc:
        return _error(exc)
    weight = weights[2] if names is None else weights[1] if len(names) > 1 else weights[0]
    return _answer([build(name, coin, quote_asset, at) for name, coin, quote_asset in resolved], weight)


@router.get("/api/v3/depth", response_model=None)
async def get_depth(symbol: str | None = None, limit: int = 100) -> Response:
    try:
        name, coin, quote_asset = _resolve(symbol)
        if limit not in DEPTH_LIMITS:
            raise BinanceError(
                -1100,
                "Illegal characters found in parameter 'limit'; legal range is '5, 10, 20, 50, 100, 500, 1000, 5000'.",
            )
    except BinanceError as exc:
        return _error(exc)
    at = now_ms()
    bids, asks = order_book(name, quote(coin, at).price * quote_rate(quote_asset, at), limit, at // 1000)
    return _answer({"lastUpdateId": at, "bids": bids, "asks": asks}, 5 if limit <= 100 else 25)


def order_book(name: str, price: float, levels: int, second: int) -> tuple[list[list[str]], list[list[str]]]:
    bid, ask = best_bid_ask(price)
    tick = max(price * 0.0001, 1e-8)
    bids = [[_fmt(bid - i * tick), _fmt(0.05 + _seed(name, second, "b", i) * 3)] for i in range(levels)]
    asks = [[_fmt(ask + i * tick), _fmt(0.05 + _seed(name, second, "a", i) * 3)] for i in range(levels)]
    return bids, asks


def trades_between(name: str, coin: Coin, quote_asset: str, start_s: int, end_s: int) -> list[dict[str, Any]]:
    """Three synthetic trades per second in [start_s, end_s), at the live price of their moment."""
    rows = []
    for second in range(start_s, end_s):
        for k in range(3):
            at = second * 1000 + 250 * k + int(_seed(name, second, k) * 200)
            price = quote_price(coin, quote_asset, at) * (1 + (_seed(name, second, k, "p") - 0.5) * 0.0002)
            rows.append(
                {
                    "id": second * 3 + k,
                    "price": _fmt(price),
                    "qty": _fmt(0.001 + _seed(name, second, k, "q")),
                    "time": at,
                    "isBuyerMaker": _seed(name, second, k, "m") < 0.5,
                    "isBestMatch": True,
                }
            )
    return rows


def quote_price(coin: Coin, quote_asset: str, at_ms: int) -> float:
    return price_at(coin, at_ms) * quote_rate(quote_asset, at_ms)


@router.get("/api/v3/trades", response_model=None)
async def get_trades(symbol: str | None = None, limit: int = 500) -> Response:
    try:
        name, coin, quote_asset = _resolve(symbol)
        _check_limit(limit)
    except BinanceError as exc:
        return _error(exc)
    end_s = now_ms() // 1000
    rows = trades_between(name, coin, quote_asset, end_s - limit // 3 - 1, end_s)
    for row in rows:
        row["quoteQty"] = _fmt(float(row["price"]) * float(row["qty"]))
    return _answer(rows[-limit:], WEIGHTS["trades"])


@router.get("/api/v3/aggTrades", response_model=None)
async def get_agg_trades(
    symbol: str | None = None,
    startTime: int | None = None,
    limit: int = 500,
) -> Response:
    try:
        name, coin, quote_asset = _resolve(symbol)
        _check_limit(limit)
    except BinanceError as exc:
        return _error(exc)
    now_s = now_ms() // 1000
    start_s = startTime // 1000 if startTime is not None else now_s - limit // 3 - 1
    rows = [
        row
        for row in trades_between(name, coin, quote_asset, start_s, min(now_s, start_s + limit // 3 + 1))
        if startTime is None or row["time"] >= startTime
    ]
    agg = [
        {
            "a": row["id"],
            "p": row["price"],
            "q": row["qty"],
            "f": row["id"],
            "l": row["id"],
            "T": row["time"],
            "m": row["isBuyerMaker"],
            "M": True,
        }
        for row in rows
    ]
    return _answer(agg[:limit] if startTime is not None else agg[-limit:], WEIGHTS["aggTrades"])


@router.get("/api/v3/avgPrice", response_model=None)
async def get_avg_price(symbol: str | None = None) -> Response:
    try:
        _, coin, quote_asset = _resolve(symbol)
    except BinanceError as exc:
        return _error(exc)
    at = now_ms()
    return _answer(
        {"mins": 5, "price": _fmt(quote_price(coin, quote_asset, at - 150_000)), "closeTime": at}, WEIGHTS["avgPrice"]
    )
