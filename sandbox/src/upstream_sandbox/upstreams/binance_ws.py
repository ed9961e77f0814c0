"""Binance spot WebSocket streams imitation: `/ws/<stream>` (raw) and `/stream?streams=a/b` (combined,
`{"stream": name, "data": payload}`), with the live SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS protocol.

Every tick (SANDBOX_WS_TICK_MS, default 1000 ms) each subscribed stream gets its events, computed from the
same market as the REST imitation: trades since the last tick, the running kline (and the closed one, with
`x: true`, when a candle closes), tickers, book tickers and partial depth. While the fault switch
`{"upstream": "binance-ws", "mode": "drop_ws"}` is on, open sockets are closed and new ones refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..candles import INTERVAL_MS, Candle, klines
from ..clock import now_ms
from ..faults import BOARD
from ..market_universe import Coin
from .binance import book_ticker, order_book, quote_rate, symbols, ticker_24h, trades_between

PREFIX = "/binance-ws"
router = APIRouter()

STREAM = re.compile(
    r"^(?P<symbol>[a-z0-9]+)@(?P<kind>trade|aggTrade|miniTicker|ticker|bookTicker|kline_(?P<interval>\w+)"
    r"|depth(?P<levels>5|10|20)?(@100ms|@1000ms)?)$"
)
ALL_MINI_TICKERS = "!miniTicker@arr"
UPSTREAM_NAME = "binance-ws"


def tick_s() -> float:
    return int(os.environ.get("SANDBOX_WS_TICK_MS", "1000")) / 1000


def dropping() -> bool:
    fault = BOARD.faults.get(UPSTREAM_NAME)
    return fault is not None and fault.mode == "drop_ws"


def valid(stream: str) -> bool:
    if stream == ALL_MINI_TICKERS:
        return True
    match = STREAM.match(stream)
    if match is None or match["symbol"].upper() not in symbols():
        return False
    return match["interval"] is None or match["interval"] in INTERVAL_MS


@dataclass
class Session:
    """One client's subscriptions and what it has already been sent."""

    combined: bool
    streams: list[str] = field(default_factory=list)
    last_trade_s: dict[str, int] = field(default_factory=dict)
    kline_open: dict[str, int] = field(default_factory=dict)

    def events(self, at_ms: int) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for stream in list(self.streams):
            out.extend((stream, payload) for payload in self._payloads(stream, at_ms))
        return out

    def _payloads(self, stream: str, at: int) -> list[Any]:
        if stream == ALL_MINI_TICKERS:
            return [[_mini(name, coin, quote, at) for name, (coin, quote) in sorted(symbols().items())]]
        match = STREAM.match(stream)
        assert match is not None
        name = match["symbol"].upper()
        coin, quote = symbols()[name]
        kind = match["kind"]
        if kind in ("trade", "aggTrade"):
            return self._trades(stream, name, coin, quote, at, aggregated=kind == "aggTrade")
        if kind.startswith("kline_"):
            return self._klines(stream, name, coin, quote, match["interval"], at)
        if kind == "miniTicker":
            return [_mini(name, coin, quote, at)]
        if kind == "ticker":
            return [_ticker(name, coin, quote, at)]
        if kind == "bookTicker":
            book = book_ticker(name, coin, quote, at)
            return [
                {
                    "u": at,
                    "s": name,
                    "b": book["bidPrice"],
                    "B": book["bidQty"],
                    "a": book["askPrice"],
                    "A": book["askQty"],
                }
            ]
        bids, asks = order_book(name, _last(name, coin, quote, at), int(match["levels"] or 10), at // 1000)
        if match["levels"]:
            return [{"lastUpdateId": at, "bids": bids, "asks": asks}]
        return [{"e": "depthUpdate", "E": at, "s": name, "U": at - 10, "u": at, "b": bids[:5], "a": asks[:5]}]

    def _trades(self, stream: str, name: str, coin: Coin, quote: str, at: int, aggregated: bool) -> list[Any]:
        now_s = at // 1000
        start_s = self.last_trade_s.get(stream, now_s - 1)
        self.last_trade_s[stream] = now_s
        rows = trades_between(name, coin, quote, start_s, now_s)
        if aggregated:
            return [
                {
                    "e": "aggTrade",
                    "E": at,
                    "s": name,
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
        return [
            {
                "e": "trade",
                "E": at,
                "s": name,
                "t": row["id"],
                "p": row["price"],
                "q": row["qty"],
                "T": row["time"],
                "m": row["isBuyerMaker"],
                "M": True,
            }
            for row in rows
        ]

    def _klines(self, stream: str, name: str, coin: Coin, quote: str, interval: str, at: int) -> list[Any]:
        latest = klines(coin, interval, None, None, 1)
        if not latest:
            return []
        current = latest[0]
        out: list[Any] = []
        previous_open = self.kline_open.get(stream)
        if previous_open is not None and previous_open != current.open_ms:
            closed = klines(coin, interval, previous_open, previous_open, 1)
            out.extend(_kline(name, interval, candle, at, quote, closed=True) for candle in closed)
        self.kline_open[stream] = current.open_ms
        out.append(_kline(name, interval, current, at, quote, closed=False))
        return out


def _last(name: str, coin: Coin, quote: str, at: int) -> float:
    return float(ticker_24h(name, coin, quote, at)["lastPrice"])


def _mini(name: str, coin: Coin, quote: str, at: int) -> dict[str, Any]:
    t = ticker_24h(name, coin, quote, at)
    return {
        "e": "24hrMiniTicker",
        "E": at,
        "s": name,
        "c": t["lastPrice"],
        "o": t["openPrice"],
        "h": t["highPrice"],
        "l": t["lowPrice"],
        "v": t["volume"],
        "q": t["quoteVolume"],
    }


def _ticker(name: str, coin: Coin, quote: str, at: int) -> dict[str, Any]:
    t = ticker_24h(name, coin, quote, at)
    return {
        "e": "24hrTicker",
        "E": at,
        "s": name,
        "p": t["priceChange"],
        "P": t["priceChangePercent"],
        "w": t["weightedAvgPrice"],
        "x": t["prevClosePrice"],
        "c": t["lastPrice"],
        "Q": t["lastQty"],
        "b": t["bidPrice"],
        "B": t["bidQty"],
        "a": t["askPrice"],
        "A": t["askQty"],
        "o": t["openPrice"],
        "h": t["highPrice"],
        "l": t["lowPrice"],
        "v": t["volume"],
        "q": t["quoteVolume"],
        "O": t["openTime"],
        "C": t["closeTime"],
        "F": t["firstId"],
        "L": t["lastId"],
        "n": t["count"],
    }


def _kline(name: str, interval: str, candle: Candle, at: int, quote: str, closed: bool) -> dict[str, Any]:
    fx = quote_rate(quote, at)
    fmt = lambda value: f"{value * fx:.8f}"  # noqa: E731
    first_id = candle.open_ms // 1000 * 3
    return {
        "e": "kline",
        "E": at,
        "s": name,
        "k": {
            "t": candle.open_ms,
            "T": candle.close_ms,
            "s": name,
            "i": interval,
            "f": first_id,
            "L": first_id + candle.trades - 1,
            "o": fmt(candle.open),
            "c": fmt(candle.close),
            "h": fmt(candle.high),
            "l": fmt(candle.low),
            "v": f"{candle.volume:.8f}",
            "n": candle.trades,
            "x": closed,
            "q": fmt(candle.quote_volume),
            "V": f"{candle.volume * 0.48:.8f}",
            "Q": fmt(candle.quote_volume * 0.48),
            "B": "0",
        },
    }


async def _serve(websocket: WebSocket, session: Session) -> None:
    await websocket.accept()
    reader = asyncio.create_task(_read_requests(websocket, session))
    try:
        while not reader.done():
            if dropping():
                await websocket.close(code=1001, reason="sandbox: socket dropped by fault switch")
                return
            for stream, payload in session.events(now_ms()):
                await websocket.send_text(
                    json.dumps(
                        {"stream": stream, "data": payload} if session.combined else payload, separators=(",", ":")
                    )
                )
            await asyncio.sleep(tick_s())
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _read_requests(websocket: WebSocket, session: Session) -> None:
    """Binance's live subscription protocol; malformed requests get Binance's error objects."""
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        try:
            request = json.loads(text)
            method, params, request_id = request["method"], request.get("params", []), request["id"]
        except (ValueError, KeyError, TypeError):
            await websocket.send_text(json.dumps({"error": {"code": 3, "msg": "Invalid JSON: expected a request"}}))
            continue
        await websocket.send_text(json.dumps(_handle(session, method, params, request_id)))


def _handle(session: Session, method: str, params: Any, request_id: Any) -> dict[str, Any]:
    if method == "LIST_SUBSCRIPTIONS":
        return {"result": list(session.streams), "id": request_id}
    if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
        return {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": request_id}
    bad = [name for name in params if not isinstance(name, str) or not valid(name)]
    if bad:
        return {"error": {"code": 2, "msg": f"Invalid request: invalid stream name {bad[0]!r}"}, "id": request_id}
    for name in params:
        if method == "SUBSCRIBE" and name not in session.streams:
            session.streams.append(name)
        elif method == "UNSUBSCRIBE" and name in session.streams:
            session.streams.remove(name)
    return {"result": None, "id": request_id}


@router.websocket("/stream")
async def combined_stream(websocket: WebSocket) -> None:
    names = [name for name in websocket.query_params.get("streams", "").split("/") if name]
    if any(not valid(name) for name in names):
        await websocket.close(code=1008, reason="invalid stream name")
        return
    await _serve(websocket, Session(combined=True, streams=names))


@router.websocket("/ws/{stream:path}")
async def raw_stream(websocket: WebSocket, stream: str) -> None:
    names = [name for name in stream.split("/") if name]
    if any(not valid(name) for name in names):
        await websocket.close(code=1008, reason="invalid stream name")
        return
    await _serve(websocket, Session(combined=len(names) > 1, streams=names))


@router.websocket("/ws")
async def bare_stream(websocket: WebSocket) -> None:
    await _serve(websocket, Session(combined=False))
