"""The WebSocket channels, one entry each: which topic feeds it, how subscriptions are keyed, how a slow
client is treated, what a frame's `data` looks like and where a new subscriber's snapshot comes from.

Everything else in the stream service (protocol checks, fan-out, resume, snapshots, the connection message)
reads this registry, so a new channel is one `Channel` here plus a publisher of its topic (see the README's
"adding a channel").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from suite_shared.messages.ai import Signal
from suite_shared.messages.market import BookEvent, CandleEvent, TickerEvent, TradeEvent, latest_key
from suite_shared.messages.news import ScoredArticle
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

    def decode(self, raw: bytes) -> tuple[list[str], str]:
        """An event as stored in its stream → its keys and the frame's `data`, serialised once."""
        return self.encode(self.topic.model.model_validate_json(raw))

    def encode(self, event: BaseModel) -> tuple[list[str], str]:
        return self.keys(event), orjson.dumps(self.data(event)).decode()


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
MARKET_CHANNELS = frozenset(name for name, channel in CHANNELS.items() if channel.keyed_by == "pair")
LATEST_ONLY = frozenset(name for name, channel in CHANNELS.items() if channel.policy == "latest")
