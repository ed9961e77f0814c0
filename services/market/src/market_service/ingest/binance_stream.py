"""Binance spot combined-stream client: raw messages in, normalised market events out.

Parsing is a set of pure functions (message in, event out) so it is tested without a network. The
client is one async generator over one connection at a time: it reconnects after every loss (Binance
also closes each connection at the 24 h mark) with capped, jittered exponential backoff, and tells the
worker through `LinkState` whether the socket is up, so REST polling can stand in while it is not. We
send nothing on the socket (streams are named in the URL), which keeps us far below Binance's limit of
5 incoming messages per second; ping/pong is answered by the websockets library.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from suite_shared.envelope import now_ms
from suite_shared.messages.market import BookEvent, CandleEvent, MarketEvent, TickerEvent, TradeEvent
from suite_shared.metrics import INGEST_DROPPED, INGEST_RECONNECTS
from suite_shared.symbols import Pair

log = logging.getLogger(__name__)

SOURCE = "binance"
MAX_STREAMS_PER_CONNECTION = 1024  # Binance's limit per connection
STREAM_KINDS = ("trade", "ticker", "bookTicker")


class MalformedMessage(ValueError):
    """A message that is not in the shape Binance documents."""


# -- stream names ---------------------------------------------------------------------------------------


def stream_names(pairs: Sequence[Pair], timeframes: Sequence[str] = ("1m",)) -> list[str]:
    """Every stream we subscribe to for `pairs`: trades, the 24 h ticker, the book ticker and klines."""
    names = [f"{pair.subject_token}@{kind}" for pair in pairs for kind in STREAM_KINDS]
    names += [f"{pair.subject_token}@kline_{timeframe}" for pair in pairs for timeframe in timeframes]
    if len(names) > MAX_STREAMS_PER_CONNECTION:
        raise ValueError(f"{len(names)} streams exceed Binance's {MAX_STREAMS_PER_CONNECTION} per connection")
    return names


def combined_stream_url(ws_url: str, streams: Sequence[str]) -> str:
    return f"{ws_url.rstrip('/')}/stream?streams={'/'.join(streams)}"


# -- parsing ------------------------------------------------------------------------------------------


def parse_message(raw: str | bytes, received_at: int, pairs: Mapping[str, Pair]) -> MarketEvent | None:
    """One frame of a combined (or raw) stream → its event; None for frames that carry none (subscription
    answers, server notices, pairs we did not ask for). Raises MalformedMessage for broken frames."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedMessage("frame is not JSON") from exc
    data = message.get("data", message) if isinstance(message, dict) else None
    if not isinstance(data, dict):
        raise MalformedMessage("frame is not a JSON object")
    pair = pairs.get(str(data.get("s", "")))
    if pair is None:
        return None
    try:
        return _parse_payload(data, pair, received_at)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(f"{data.get('e', 'bookTicker')} payload: {exc!r}") from exc


def _parse_payload(data: dict[str, Any], pair: Pair, received_at: int) -> MarketEvent | None:
    kind = data.get("e")
    if kind in ("trade", "aggTrade"):
        return parse_trade(data, pair, received_at)
    if kind in ("24hrTicker", "24hrMiniTicker"):
        return parse_ticker(data, pair, received_at)
    if kind == "kline":
        return parse_kline(data, pair, received_at)
    if kind is None and {"b", "a", "u"} <= data.keys():
        return parse_book_ticker(data, pair, received_at)
    return None


def parse_trade(data: dict[str, Any], pair: Pair, received_at: int) -> TradeEvent:
    """A trade (or aggregate trade). `m` says the buyer was the maker, so the taker sold."""
    trade_id = data["t"] if data["e"] == "trade" else data["a"]
    return TradeEvent(
        symbol=str(pair),
        id=str(trade_id),
        price=float(data["p"]),
        amount=float(data["q"]),
        side="sell" if data["m"] else "buy",
        timestamp=int(data["T"]),
        received_at=received_at,
        source=SOURCE,
    )


def parse_ticker(data: dict[str, Any], pair: Pair, received_at: int) -> TickerEvent:
    """The full 24 h ticker carries change, bid and ask; the mini ticker only prices and volumes."""
    price, open_price = float(data["c"]), float(data["o"])
    if "P" in data:
        change: float | None = float(data["P"])
    else:
        change = (price - open_price) / open_price * 100 if open_price else None
    return TickerEvent(
        symbol=str(pair),
        price=price,
        change_24h=change,
        volume_24h=float(data["q"]),
        high_24h=float(data["h"]),
        low_24h=float(data["l"]),
        bid=_optional_float(data.get("b")),
        ask=_optional_float(data.get("a")),
        timestamp=int(data["E"]),
        received_at=received_at,
        source=SOURCE,
    )


def parse_kline(data: dict[str, Any], pair: Pair, received_at: int) -> CandleEvent:
    kline = data["k"]
    return CandleEvent(
        symbol=str(pair),
        timeframe=str(kline["i"]),
        t=int(kline["t"]),
        o=float(kline["o"]),
        h=float(kline["h"]),
        l=float(kline["l"]),
        c=float(kline["c"]),
        v=float(kline["v"]),
        closed=bool(kline["x"]),
        timestamp=int(data["E"]),
        received_at=received_at,
        source=SOURCE,
    )


def parse_book_ticker(data: dict[str, Any], pair: Pair, received_at: int) -> BookEvent:
    """Best bid and ask. Spot book tickers carry no event time, so the receipt time stands in."""
    return BookEvent(
        symbol=str(pair),
        bids=[(float(data["b"]), float(data["B"]))],
        asks=[(float(data["a"]), float(data["A"]))],
        timestamp=int(data.get("E", received_at)),
        received_at=received_at,
        source=SOURCE,
    )


def _optional_float(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


# -- connection -----------------------------------------------------------------------------------------


@dataclass
class Backoff:
    """Capped exponential backoff with jitter: each delay is drawn from the upper half of its ceiling, so
    replicas and retries spread out without ever hammering at near-zero delays."""

    base_s: float = 0.5
    cap_s: float = 10.0
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.base_s * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class LinkState:
    """Whether the socket is up, awaitable in both directions (the REST fallback waits on it)."""

    def __init__(self) -> None:
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()

    @property
    def connected(self) -> bool:
        return self._up.is_set()

    def mark_up(self) -> None:
        self._down.clear()
        self._up.set()

    def mark_down(self) -> None:
        self._up.clear()
        self._down.set()

    async def wait_up(self) -> None:
        await self._up.wait()

    async def wait_down(self) -> None:
        await self._down.wait()


class BinanceStream:
    """One combined-stream connection for `pairs`, reconnected for as long as `events()` is iterated."""

    def __init__(
        self,
        ws_url: str,
        pairs: Sequence[Pair],
        timeframes: Sequence[str] = ("1m",),
        backoff: Backoff | None = None,
        stable_after_s: float = 30.0,
        open_timeout_s: float = 10.0,
    ) -> None:
        self.url = combined_stream_url(ws_url, stream_names(pairs, timeframes))
        self.pairs = {pair.compact: pair for pair in pairs}
        self.backoff = backoff or Backoff()
        self.stable_after_s = stable_after_s
        self.open_timeout_s = open_timeout_s
        self.link = LinkState()

    async def events(self) -> AsyncIterator[MarketEvent]:
        """Events from the socket, forever; a lost connection is retried after a backoff delay."""
        while True:
            connected_at: float | None = None
            try:
                async with connect(
                    self.url,
                    open_timeout=self.open_timeout_s,
                    ping_interval=20,
                    ping_timeout=20,
                    close_timeout=2,
                    compression=None,
                    max_size=2**20,
                ) as socket:
                    connected_at = time.monotonic()
                    self.link.mark_up()
                    log.info("binance stream connected (%d pairs)", len(self.pairs))
                    async for frame in socket:
                        event = self._parse(frame)
                        if event is not None:
                            yield event
                reason = "closed by the server"
            except (OSError, TimeoutError, WebSocketException) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self.link.mark_down()
            await self._pause(connected_at, reason)

    def _parse(self, frame: str | bytes) -> MarketEvent | None:
        try:
            return parse_message(frame, now_ms(), self.pairs)
        except MalformedMessage as exc:
            INGEST_DROPPED.labels("malformed").inc()
            log.debug("skipping malformed binance frame: %s", exc)
            return None

    async def _pause(self, connected_at: float | None, reason: str) -> None:
        INGEST_RECONNECTS.labels(SOURCE).inc()
        if connected_at is not None and time.monotonic() - connected_at >= self.stable_after_s:
            self.backoff.reset()  # a long-lived connection ended (e.g. the 24 h cut): reconnect at once
        delay = self.backoff.next_delay()
        log.warning("binance stream down (%s); reconnecting in %.1fs", reason, delay)
        await asyncio.sleep(delay)
