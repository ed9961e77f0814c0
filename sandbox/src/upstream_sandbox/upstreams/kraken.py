"""Kraken public REST imitation (`/0/public/...`): `{"error": [...], "result": {...}}` with HTTP 200 even for
errors, results keyed by Kraken's own pair names (XXBTZUSD), Bitcoin spelled XBT.

The pair list is Kraken's real AssetPairs (recorded 2021-04-17, see DATA_SOURCES.md); prices, candles,
books and trades come from the sandbox market (the same as the Binance and CoinGecko imitations), for the
pairs whose base asset the sandbox knows.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import APIRouter

from ..candles import klines
from ..clock import now_ms
from ..market_universe import Coin, coins, quote
from .binance import best_bid_ask, order_book, quote_rate, trades_between

PREFIX = "/kraken"
router = APIRouter()

KRAKEN_TO_OURS = {"XBT": "BTC", "XDG": "DOGE"}
INTERVALS = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 240: "4h", 1440: "1d", 10080: "1w"}


@lru_cache(maxsize=1)
def asset_pairs() -> dict[str, Any]:
    path = resources.files(__package__.rsplit(".", 1)[0]).joinpath("data", "kraken_asset_pairs_2021-04-17.json")
    pairs: dict[str, Any] = json.loads(path.read_text())["result"]
    return pairs


def _asset(kraken_code: str) -> str:
    code = kraken_code[1:] if len(kraken_code) == 4 and kraken_code[0] in "XZ" else kraken_code
    return KRAKEN_TO_OURS.get(code, code)


def _resolve(pair: str | None) -> tuple[str, Coin, str] | None:
    """(result key, coin, quote asset) for a requested pair, by key or altname; None if unknown."""
    if not pair:
        return None
    by_symbol = {coin.symbol: coin for coin in coins()}
    for key, row in asset_pairs().items():
        if pair in (key, row["altname"], row.get("wsname")):
            coin = by_symbol.get(_asset(row["base"]))
            quote_asset = _asset(row["quote"])
            if coin is not None and quote_asset in ("USD", "USDT", "EUR", "BTC", "ETH"):
                return key, coin, quote_asset
    return None


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    return {"error": [], "result": result}


UNKNOWN_PAIR = {"error": ["EQuery:Unknown asset pair"]}


def _fmt(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") if value else "0"


def _rate(quote_asset: str, at: int) -> float:
    return quote_rate("USDT" if quote_asset == "USD" else quote_asset, at)


@router.get("/0/public/Time")
async def server_time() -> dict[str, Any]:
    at = now_ms()
    return _ok({"unixtime": at // 1000, "rfc1123": ""})


@router.get("/0/public/AssetPairs")
async def get_asset_pairs(pair: str | None = None) -> dict[str, Any]:
    if pair is None:
        return _ok(asset_pairs())
    found = {key: row for key, row in asset_pairs().items() if pair in (key, row["altname"])}
    return _ok(found) if found else UNKNOWN_PAIR


@router.get("/0/public/Ticker")
async def get_ticker(pair: str | None = None) -> dict[str, Any]:
    resolved = _resolve(pair)
    if resolved is None:
        return UNKNOWN_PAIR
    key, coin, quote_asset = resolved
    at = now_ms()
    item, fx = quote(coin, at), _rate(quote_asset, at)
    last = item.price * fx
    bid, ask = best_bid_ask(last)
    volume = item.volume_24h / item.price if item.price else 0.0
    vwap = (item.high_24h + item.low_24h + item.price) / 3 * fx
    today_open = last / (1 + item.change_24h / 100)
    return _ok(
        {
            key: {
                "a": [_fmt(ask), "1", "1.000"],
                "b": [_fmt(bid), "1", "1.000"],
                "c": [_fmt(last), "0.01"],
                "v": [_fmt(volume / 2), _fmt(volume)],
                "p": [_fmt(vwap), _fmt(vwap)],
                "t": [1000, 2000],
                "l": [_fmt(item.low_24h * fx), _fmt(item.low_24h * fx)],
                "h": [_fmt(item.high_24h * fx), _fmt(item.high_24h * fx)],
                "o": _fmt(today_open),
            }
        }
    )


@router.get("/0/public/OHLC")
async def get_ohlc(pair: str | None = None, interval: int = 1, since: int | None = None) -> dict[str, Any]:
    resolved = _resolve(pair)
    if resolved is None:
        return UNKNOWN_PAIR
    if interval not in INTERVALS:
        return {"error": ["EGeneral:Invalid arguments"]}
    key, coin, quote_asset = resolved
    fx = _rate(quote_asset, now_ms())
    start = (since + 1) * 1000 if since is not None else None  # Kraken's since is exclusive
    candles = klines(coin, INTERVALS[interval], start, None, 720)
    rows = [
        [
            c.open_ms // 1000,
            _fmt(c.open * fx),
            _fmt(c.high * fx),
            _fmt(c.low * fx),
            _fmt(c.close * fx),
            _fmt((c.high + c.low + c.close) / 3 * fx),
            _fmt(c.volume),
            c.trades,
        ]
        for c in candles
    ]
    return _ok({key: rows, "last": rows[-2][0] if len(rows) > 1 else (rows[-1][0] if rows else 0)})


@router.get("/0/public/Depth")
async def get_depth(pair: str | None = None, count: int = 100) -> dict[str, Any]:
    resolved = _resolve(pair)
    if resolved is None:
        return UNKNOWN_PAIR
    key, coin, quote_asset = resolved
    at = now_ms()
    bids, asks = order_book(key, quote(coin, at).price * _rate(quote_asset, at), max(1, min(count, 500)), at // 1000)
    stamp = at // 1000
    return _ok(
        {
            key: {
                "asks": [[price, amount, stamp] for price, amount in asks],
                "bids": [[price, amount, stamp] for price, amount in bids],
            }
        }
    )


@router.get("/0/public/Trades")
async def get_trades(pair: str | None = None, since: int | None = None, count: int = 1000) -> dict[str, Any]:
    resolved = _resolve(pair)
    if resolved is None:
        return UNKNOWN_PAIR
    key, coin, quote_asset = resolved
    now_s = now_ms() // 1000
    start_s = since if since is not None and since > now_s - 3600 else now_s - max(1, min(count, 1000)) // 3 - 1
    binance_quote = "USDT" if quote_asset == "USD" else quote_asset
    rows = trades_between(key, coin, binance_quote, start_s, now_s)[: max(1, min(count, 1000))]
    trades = [
        [
            row["price"],
            row["qty"],
            row["time"] / 1000,
            "s" if row["isBuyerMaker"] else "b",
            "m" if row["id"] % 4 else "l",
            "",
            row["id"],
        ]
        for row in rows
    ]
    return _ok({key: trades, "last": str(rows[-1]["time"] * 1_000_000) if rows else "0"})
