"""The WebSocket channels, one entry each: which topic feeds it, how subscriptions are keyed, how a slow
client is treated, what a frame's `data` looks like and where a new subscriber's snapshot comes from.

Everything else in the stream service (protocol checks, fan-out, resume, snapshots, the connection message)
reads this registry, so a new channel is one `Channel` here plus a publisher of its topic (see the README's
"adding a channel").

A subscription receives a `Feed`: a channel's events in one frame style. Each channel is the feed of its own
name, with the contract's frames (`{"channel", "data", "seq"}`); an alias feed carries a channel's events in
the frames another client routes on (the Dreammaker frontend's `market_data`, `price_update`,
`signal_update`: a top-level `type` and the fields its code reads). Fan-out, resume and snapshots work on
feeds, so an alias subscription behaves like any other (coalescing, resume, `seq`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from suite_shared.messages.ai import Signal
from suite_shared.messages.market import BookEvent, CandleEvent, TickerEvent, TradeEvent, latest_key
from suite_shared.messages.news import ScoredArticle, iso_utc
from suite_shared.symbols import parse_pair
from suite_shared.topics import AI_SIGNAL, MARKET_BOOK, MARKET_CANDLE, MARKET_TICKER, MARKET_TRADE, NEWS_SCORED, Topic

ALL = "*"  # the key of a subscription without symbols (news and signals: everything)


@dataclass(frozen=True)
class Channel:
    name: str
    topic: Topic[Any]
    # "pair": subscribed per streamed pair (`BTC/USDT`); "asset": per asset (`BTC`) or ALL.
    keyed_by: Literal["pair", "asset"]
    # "latest": a slow client gets the newest value per symbol; "queue": every event, in order, up to a bound.
    policy: Literal["latest", "queue"]
    data: Callable[[Any], dict[str, Any]]  # the event → the frame's `data`
    keys: Callable[[Any], list[str]]  # the event → the subscription keys it goes to
    snapshot_key: Callable[[str], str] | None = None  # a pair → the Redis key of its latest event

    def key_of(self, symbol: str) -> str:
        """A subscription's key for a (canonical) symbol."""
        return symbol if self.keyed_by == "pair" else symbol.split("/")[0]

    def filter_subject(self, key: str) -> str:
        """The subjects carrying one subscription's events (resume replays only those)."""
        if self.keyed_by == "pair" and key != ALL:
            return self.topic.filter(pair=parse_pair(key).subject_token)
        return self.topic.pattern


@dataclass(frozen=True)
class Feed:
    """What one subscription receives: `channel`'s events, framed by `frame` (None: the contract's frame)."""

    name: str
    channel: Channel
    frame: Callable[[Any], dict[str, Any]] | None = None  # the event → the whole frame but its `seq`

    @property
    def is_alias(self) -> bool:
        return self.frame is not None

    def head(self, event: BaseModel) -> str:
        """The frame for `event` without its closing `,"seq":n}`: serialised once for every subscriber, each
        connection adds its own `seq`."""
        if self.frame is None:
            return contract_head(self.name, orjson.dumps(self.channel.data(event)).decode())
        return orjson.dumps(self.frame(event)).decode()[:-1]

    def decode(self, raw: bytes) -> tuple[list[str], str]:
        """An event as stored in its stream (or as a Redis snapshot) → its keys and this feed's frame head."""
        event = self.channel.topic.model.model_validate_json(raw)
        return self.channel.keys(event), self.head(event)


def contract_head(channel: str, data: str) -> str:
    """The contract's data frame, `{"channel": ..., "data": ..., "seq": n}`, up to its `seq`."""
    return f'{{"channel":"{channel}","data":{data}'


def _ticker(event: TickerEvent) -> dict[str, Any]:
    return event.model_dump(include={"symbol", "price", "change_24h", "volume_24h", "timestamp"})


def _trade(event: TradeEvent) -> dict[str, Any]:
    return event.model_dump(include={"symbol", "price", "amount", "side", "timestamp", "id"})


def _candle(event: CandleEvent) -> dict[str, Any]:
    return event.model_dump(include={"symbol", "timeframe", "t", "o", "h", "l", "c", "v", "closed", "timestamp"})


def _book(event: BookEvent) -> dict[str, Any]:
    return event.model_dump(include={"symbol", "bids", "asks", "timestamp"})


def _pair_key(event: TickerEvent | TradeEvent | CandleEvent | BookEvent) -> list[str]:
    return [event.symbol]


def _article_keys(article: ScoredArticle) -> list[str]:
    return [symbol.upper() for symbol in article.related_symbols]


def _signal_keys(signal: Signal) -> list[str]:
    return [signal.symbol.split("/")[0].upper()]


def _minute_candle_key(pair: str) -> str:
    return latest_key("candle", pair, "1m")  # the candles channel's snapshot: the running 1-minute candle


def _as_published(event: BaseModel) -> dict[str, Any]:
    return event.model_dump()


CHANNELS: dict[str, Channel] = {
    channel.name: channel
    for channel in (
        Channel("ticker", MARKET_TICKER, "pair", "latest", _ticker, _pair_key, lambda p: latest_key("ticker", p)),
        Channel("trades", MARKET_TRADE, "pair", "queue", _trade, _pair_key, lambda p: latest_key("trade", p)),
        Channel(
            "candles", MARKET_CANDLE, "pair", "latest", _candle, _pair_key, lambda p: latest_key("candle", p, "1m")
        ),
        Channel("orderbook", MARKET_BOOK, "pair", "latest", _book, _pair_key, lambda p: latest_key("book", p)),
        Channel("news", NEWS_SCORED, "asset", "queue", _as_published, _article_keys),
        Channel("signals", AI_SIGNAL, "asset", "queue", _as_published, _signal_keys),
    )
}


def _frontend_symbol(pair: str) -> str:
    """`BTC/USDT` → `BTCUSDT`: the spelling these clients subscribe with and match frames by."""
    return pair.replace("/", "")


def _price_frame(kind: str) -> Callable[[TickerEvent], dict[str, Any]]:
    """A ticker as the frontend's MarketData (dataManager `market_data`, WebSocketManager `price_update`)."""

    def frame(event: TickerEvent) -> dict[str, Any]:
        return {
            "type": kind,
            "symbol": _frontend_symbol(event.symbol),
            "pair": event.symbol,
            "price": event.price,
            "changePercent24h": event.change_24h,
            "volume24h": event.volume_24h,
            "high24h": event.high_24h,
            "low24h": event.low_24h,
            "timestamp": event.timestamp,
        }

    return frame


def _signal_update(signal: Signal) -> dict[str, Any]:
    """A signal as useSignalWebSocket's eight-stage view and dataManager's `signal_update`. Stages our
    signal has no counterpart for (pattern detectors) are `idle` with nothing invented for them."""
    done: dict[str, Any] = {"status": "completed", "progress": 100}
    indicators = signal.indicators
    stages = {
        "stage1": {**done, "data": {"price": signal.entry_price}},
        "stage2": {**done, "data": {"forecast": signal.forecast}},
        "stage3": {"status": "idle", "progress": 0, "detectors": {}},
        "stage4": {**done, "rsi": indicators.rsi, "macd": indicators.macd.get("histogram")},
        "stage5": {**done, "finalScore": signal.score},
        "stage6": {
            **done,
            "consensus": {signal.timeframe: {"action": signal.direction, "confidence": signal.confidence}},
        },
        "stage7": {**done, "atr": indicators.atr},
        "stage8": {**done, "signal": signal.direction, "confidence": signal.confidence},
    }
    symbol = _frontend_symbol(signal.symbol)
    decision = {"BUY": "LONG", "SELL": "SHORT", "HOLD": "HOLD"}[signal.direction]
    data = {
        "symbol": symbol,
        "price": signal.entry_price,
        "timestamp": iso_utc(datetime.fromtimestamp(signal.timestamp / 1000, tz=UTC)),
        "stages": stages,
        "decision": {"signal": decision, "confidence": signal.confidence, "reason": "; ".join(signal.reasoning)},
        "signal": signal.model_dump(),
    }
    return {"type": "signal_update", "symbol": symbol, "data": data}


FEEDS: dict[str, Feed] = {
    **{name: Feed(name, channel) for name, channel in CHANNELS.items()},
    "market_data": Feed("market_data", CHANNELS["ticker"], _price_frame("market_data")),
    "price_update": Feed("price_update", CHANNELS["ticker"], _price_frame("price_update")),
    "signal_update": Feed("signal_update", CHANNELS["signals"], _signal_update),
}
FEEDS_OF: dict[str, tuple[Feed, ...]] = {
    name: tuple(feed for feed in FEEDS.values() if feed.channel.name == name) for name in CHANNELS
}
LATEST_ONLY = frozenset(name for name, feed in FEEDS.items() if feed.channel.policy == "latest")
