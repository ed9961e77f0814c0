"""Fan-out: one NATS consumer per channel for the whole replica, each event serialised once and offered to
the connections subscribed to its channel and symbol.

Market channels are keyed by pair (`BTC/USDT`); news and signals by asset (`BTC`), matched against the
event's `symbol` or `related_symbols`, and a subscription without symbols receives them all (channels.py).

The consumers are JetStream ordered consumers (deliver new) on the suite's streams rather than plain
subscriptions: same one-per-subject fan-out, but each event comes with its stream sequence, which is what a
reconnecting client's resume is measured against (resume.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from suite_shared.bus import Bus
from suite_shared.redis_link import RedisDown, RedisLink
from suite_shared.streams import StreamSpec, market_stream, news_stream, signals_stream

from .channels import ALL, CHANNELS, Channel
from .connection import Connection, Cursor
from .metrics import SUBSCRIPTIONS


def streams(resume_window_s: float, news_retention_s: float) -> list[StreamSpec]:
    """The streams the channels read; the news stream is declared with the news service's retention."""
    return [market_stream(resume_window_s), signals_stream(resume_window_s), news_stream(news_retention_s)]


class Hub:
    def __init__(self) -> None:
        self.subscribers: dict[tuple[str, str], set[Connection]] = defaultdict(set)
        self.position: dict[str, int] = {}  # per stream: the last event fanned out (or the stream's end at start)

    def mark(self, connection: Connection, channel: str) -> None:
        """A new subscription starts at the stream's current position (see Connection.mark)."""
        stream = CHANNELS[channel].topic.stream
        if stream in self.position:
            connection.mark(Cursor(stream, self.position[stream]))

    def add(self, connection: Connection, channel: str, symbols: tuple[str, ...]) -> list[str]:
        keys = [CHANNELS[channel].key_of(symbol) for symbol in symbols] or [ALL]
        for key in keys:
            self.subscribers[(channel, key)].add(connection)
            connection.subscriptions.add((channel, key))
        self._count()
        return keys

    def remove(self, connection: Connection, channel: str, symbols: tuple[str, ...]) -> None:
        for key in [CHANNELS[channel].key_of(symbol) for symbol in symbols] or [ALL]:
            self.subscribers.get((channel, key), set()).discard(connection)
            connection.subscriptions.discard((channel, key))
        self._count()

    def remove_all(self, connection: Connection) -> None:
        for channel, key in list(connection.subscriptions):
            self.subscribers.get((channel, key), set()).discard(connection)
        connection.subscriptions.clear()
        self._count()

    def _count(self) -> None:
        SUBSCRIPTIONS.set(sum(len(group) for group in self.subscribers.values()))

    def fan_out(self, channel: str, keys: list[str], data: str, cursor: Cursor | None = None) -> None:
        targets: set[Connection] = set()
        for key in [*keys, ALL]:
            targets |= self.subscribers.get((channel, key), set())
        for connection in targets:
            connection.offer(channel, keys[0] if keys else ALL, data, cursor)

    async def start(self, bus: Bus, resume_window_s: float, news_retention_s: float) -> None:
        """Declare the streams and follow each channel's topic once (called when NATS connects)."""
        for spec in streams(resume_window_s, news_retention_s):
            state = await bus.ensure_stream(spec)
            self.position.setdefault(spec.name, state.last_seq)
        for channel in CHANNELS.values():
            await bus.follow(channel.topic, self._handler(channel))

    def _handler(self, channel: Channel) -> Callable[[BaseModel, int], Awaitable[None]]:
        stream = channel.topic.stream
        assert stream is not None

        async def on_event(event: BaseModel, seq: int) -> None:
            keys, data = channel.encode(event)
            self.fan_out(channel.name, keys, data, Cursor(stream, seq))
            self.position[stream] = max(seq, self.position.get(stream, 0))

        return on_event


async def snapshot(redis: RedisLink, channel: str, symbol: str) -> str | None:
    """The latest value of a market channel for a pair, shaped for the client, from Redis (None if none)."""
    key_of = CHANNELS[channel].snapshot_key
    if key_of is None:
        return None
    try:
        raw = await redis.call(lambda client: client.get(key_of(symbol)))
    except RedisDown:
        return None
    if not raw:
        return None
    return CHANNELS[channel].decode(raw if isinstance(raw, bytes) else raw.encode())[1]
