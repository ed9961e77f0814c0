"""Fan-out: one NATS subscription per subject pattern for the whole replica, each event serialised once and
offered to the connections subscribed to its channel and symbol.

Market channels are keyed by pair (`BTC/USDT`); news and signals by asset (`BTC`), matched against the
event's `symbol` or `related_symbols`, and a subscription without symbols receives them all.

The subscriptions are JetStream ordered consumers (deliver new) on the suite's streams rather than plain
subscriptions: same one-per-subject fan-out, but each event comes with its stream sequence, which is what a
reconnecting client's resume is measured against (resume.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from pydantic import BaseModel, ConfigDict, ValidationError

from suite_shared import subjects
from suite_shared.bus import Bus
from suite_shared.metrics import NATS_MESSAGES, subject_label
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.streams import StreamSpec, ensure_stream, market_stream, news_stream, signals_stream
from suite_shared.symbols import parse_pair

from .connection import Connection, Cursor
from .metrics import SUBSCRIPTIONS
from .protocol import MARKET_CHANNELS
from .shapes import EVENT_MODELS, SNAPSHOT_KEYS, shape

log = logging.getLogger(__name__)

# channel → (stream, subject pattern); the news stream is declared with the news service's retention.
SOURCES: dict[str, tuple[str, str]] = {
    "ticker": ("MARKET", subjects.MARKET_TICKER_ALL),
    "trades": ("MARKET", subjects.MARKET_TRADE_ALL),
    "candles": ("MARKET", subjects.MARKET_CANDLE_ALL),
    "orderbook": ("MARKET", subjects.MARKET_BOOK_ALL),
    "news": (subjects.NEWS_STREAM, subjects.NEWS_SCORED),
    "signals": ("SIGNALS", subjects.AI_SIGNAL),
}
ALL = "*"


def streams(resume_window_s: float, news_retention_s: float) -> list[StreamSpec]:
    return [market_stream(resume_window_s), signals_stream(resume_window_s), news_stream(news_retention_s)]


def filter_subject(channel: str, key: str) -> str:
    """The subject carrying one subscription's events (news and signals: the channel's one subject)."""
    stream_subject = SOURCES[channel][1]
    if channel not in MARKET_CHANNELS or key == ALL:
        return stream_subject
    return stream_subject.rsplit(".", 1)[0] + "." + parse_pair(key).subject_token


class Published(BaseModel):
    """A news or signal payload, forwarded as published."""

    model_config = ConfigDict(extra="allow")


def subscription_key(channel: str, symbol: str) -> str:
    return symbol if channel in MARKET_CHANNELS else symbol.split("/")[0]


class Hub:
    def __init__(self) -> None:
        self.subscribers: dict[tuple[str, str], set[Connection]] = defaultdict(set)
        self.position: dict[str, int] = {}  # per stream: the last event fanned out (or the stream's end at start)

    def mark(self, connection: Connection, channel: str) -> None:
        """A new subscription starts at the stream's current position (see Connection.mark)."""
        stream = SOURCES[channel][0]
        if stream in self.position:
            connection.mark(Cursor(stream, self.position[stream]))

    def add(self, connection: Connection, channel: str, symbols: tuple[str, ...]) -> list[str]:
        keys = [subscription_key(channel, symbol) for symbol in symbols] or [ALL]
        for key in keys:
            self.subscribers[(channel, key)].add(connection)
            connection.subscriptions.add((channel, key))
        SUBSCRIPTIONS.set(sum(len(group) for group in self.subscribers.values()))
        return keys

    def remove(self, connection: Connection, channel: str, symbols: tuple[str, ...]) -> None:
        for key in [subscription_key(channel, symbol) for symbol in symbols] or [ALL]:
            self.subscribers.get((channel, key), set()).discard(connection)
            connection.subscriptions.discard((channel, key))
        SUBSCRIPTIONS.set(sum(len(group) for group in self.subscribers.values()))

    def remove_all(self, connection: Connection) -> None:
        for channel, key in list(connection.subscriptions):
            self.subscribers.get((channel, key), set()).discard(connection)
        connection.subscriptions.clear()
        SUBSCRIPTIONS.set(sum(len(group) for group in self.subscribers.values()))

    def fan_out(self, channel: str, keys: list[str], data: str, cursor: Cursor | None = None) -> None:
        targets: set[Connection] = set()
        for key in [*keys, ALL]:
            targets |= self.subscribers.get((channel, key), set())
        for connection in targets:
            connection.offer(channel, keys[0] if keys else ALL, data, cursor)

    async def start(self, bus: Bus, resume_window_s: float, news_retention_s: float) -> None:
        """Declare the streams and consume each channel's subject once (called when NATS connects)."""
        js = bus.jetstream()
        for spec in streams(resume_window_s, news_retention_s):
            info = await ensure_stream(js, spec)
            self.position.setdefault(spec.name, info.state.last_seq)
        for channel, (stream, subject) in SOURCES.items():
            await js.subscribe(
                subject,
                stream=stream,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW,
                cb=self._handler(channel, stream, bus.service),
            )

    def _handler(self, channel: str, stream: str, service: str) -> Any:
        async def on_message(msg: Msg) -> None:
            NATS_MESSAGES.labels(service, "in", subject_label(msg.subject)).inc()
            try:
                keys, data = decode(channel, msg.data)
            except (ValidationError, ValueError) as exc:
                log.warning("dropping invalid %s message: %s", msg.subject, exc)
                return
            seq = msg.metadata.sequence.stream
            self.fan_out(channel, keys, data, Cursor(stream, seq))
            self.position[stream] = max(seq, self.position.get(stream, 0))

        return on_message


def decode(channel: str, raw: bytes) -> tuple[list[str], str]:
    """An event as published → (its subscription keys, the client's `data` serialised once)."""
    if channel in MARKET_CHANNELS:
        event = EVENT_MODELS[channel].model_validate_json(raw)
        return [event.symbol], orjson.dumps(shape(channel, event)).decode()
    body = Published.model_validate_json(raw).model_dump()
    related = [body["symbol"]] if isinstance(body.get("symbol"), str) else []
    related += [item for item in body.get("related_symbols") or [] if isinstance(item, str)]
    return [symbol.split("/")[0].upper() for symbol in related], orjson.dumps(body).decode()


async def snapshot(redis: RedisLink, channel: str, symbol: str) -> str | None:
    """The latest value of a market channel for a pair, shaped for the client, from Redis (None if none)."""
    template = SNAPSHOT_KEYS.get(channel)
    if template is None:
        return None
    try:
        raw = await redis.call(lambda client: client.get(template.format(symbol=symbol)))
    except RedisDown:
        return None
    if not raw:
        return None
    return decode(channel, raw)[1]
