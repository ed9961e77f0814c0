"""Fan-out: one NATS consumer per channel for the whole replica, each event serialised once per feed that has
subscribers (channels.py: the channel's own contract frames, and any alias frames) and offered to the
connections subscribed to that feed and symbol.

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
from suite_shared.settings import Settings
from suite_shared.streams import suite_streams

from .channels import ALL, CHANNELS, FEEDS, FEEDS_OF, Channel
from .connection import Connection, Cursor
from .metrics import SUBSCRIPTIONS


class Hub:
    def __init__(self) -> None:
        self.subscribers: dict[tuple[str, str], set[Connection]] = defaultdict(set)  # (feed, key)
        self.position: dict[str, int] = {}  # per stream: the last event fanned out (or the stream's end at start)

    def mark(self, connection: Connection, feed: str) -> None:
        """A new subscription starts at the stream's current position (see Connection.mark)."""
        stream = FEEDS[feed].channel.topic.stream
        if stream in self.position:
            connection.mark(Cursor(stream, self.position[stream]))

    def add(self, connection: Connection, feed: str, symbols: tuple[str, ...]) -> list[str]:
        keys = [FEEDS[feed].channel.key_of(symbol) for symbol in symbols] or [ALL]
        for key in keys:
            self.subscribers[(feed, key)].add(connection)
            connection.subscriptions.add((feed, key))
        self._count()
        return keys

    def remove(self, connection: Connection, feed: str, symbols: tuple[str, ...]) -> None:
        for key in [FEEDS[feed].channel.key_of(symbol) for symbol in symbols] or [ALL]:
            self._leave(connection, (feed, key))
            connection.subscriptions.discard((feed, key))
        self._count()

    def remove_all(self, connection: Connection) -> None:
        for subscription in list(connection.subscriptions):
            self._leave(connection, subscription)
        connection.subscriptions.clear()
        self._count()

    def _leave(self, connection: Connection, subscription: tuple[str, str]) -> None:
        """Take a connection off a (feed, key); a key no one follows any more is dropped, so the map holds only
        what open connections follow (news and signals take any well-formed asset: kept, empty keys would grow
        with every asset anyone ever named)."""
        group = self.subscribers.get(subscription)
        if group is not None:
            group.discard(connection)
            if not group:
                del self.subscribers[subscription]

    def _count(self) -> None:
        SUBSCRIPTIONS.set(sum(len(group) for group in self.subscribers.values()))

    def fan_out(self, channel: Channel, event: BaseModel, cursor: Cursor | None = None) -> None:
        """Offer `event` to every connection subscribed to one of its channel's feeds for one of its keys."""
        keys = channel.keys(event)
        for feed in FEEDS_OF[channel.name]:
            targets: set[Connection] = set()
            for key in [*keys, ALL]:
                targets |= self.subscribers.get((feed.name, key), set())
            if not targets:
                continue  # no one reads this feed's frames: never serialised
            head = feed.head(event)
            for connection in targets:
                connection.offer(feed.name, keys[0] if keys else ALL, head, cursor)

    async def start(self, bus: Bus, settings: Settings) -> None:
        """Declare the streams and follow each channel's topic once (called when NATS connects)."""
        for spec in suite_streams(settings):
            state = await bus.ensure_stream(spec)
            self.position.setdefault(spec.name, state.last_seq)
        for channel in CHANNELS.values():
            await bus.follow(channel.topic, self._handler(channel))

    def _handler(self, channel: Channel) -> Callable[[BaseModel, int], Awaitable[None]]:
        stream = channel.topic.stream
        assert stream is not None

        async def on_event(event: BaseModel, seq: int) -> None:
            self.fan_out(channel, event, Cursor(stream, seq))
            self.position[stream] = max(seq, self.position.get(stream, 0))

        return on_event


async def snapshot(redis: RedisLink, feed: str, symbol: str) -> str | None:
    """The latest value of a market channel for a pair as the feed's frame head, from Redis (None if none)."""
    key_of = FEEDS[feed].channel.snapshot_key
    if key_of is None:
        return None
    try:
        raw = await redis.call(lambda client: client.get(key_of(symbol)))
    except RedisDown:
        return None
    if not raw:
        return None
    return FEEDS[feed].decode(raw if isinstance(raw, bytes) else raw.encode())[1]
