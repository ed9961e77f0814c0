"""Fan-out: one NATS subscription per subject pattern for the whole replica, each event serialised once and
offered to the connections subscribed to its channel and symbol.

Market channels are keyed by pair (`BTC/USDT`); news and signals by asset (`BTC`), matched against the
event's `symbol` or `related_symbols`, and a subscription without symbols receives them all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import orjson
from nats.aio.msg import Msg
from pydantic import BaseModel, ConfigDict

from suite_shared.bus import Bus
from suite_shared.redis_link import RedisDown, RedisLink

from .connection import Connection
from .metrics import SUBSCRIPTIONS
from .protocol import MARKET_CHANNELS
from .shapes import EVENT_MODELS, SNAPSHOT_KEYS, shape

log = logging.getLogger(__name__)

MARKET_SUBJECTS = {"ticker": "market.ticker.*", "trades": "market.trade.*", "candles": "market.candle.*.*",
                   "orderbook": "market.book.*"}
OTHER_SUBJECTS = {"news": "news.scored", "signals": "ai.signal"}
ALL = "*"


class Published(BaseModel):
    """A news or signal payload, forwarded as published."""

    model_config = ConfigDict(extra="allow")


def subscription_key(channel: str, symbol: str) -> str:
    return symbol if channel in MARKET_CHANNELS else symbol.split("/")[0]


class Hub:
    def __init__(self) -> None:
        self.subscribers: dict[tuple[str, str], set[Connection]] = defaultdict(set)

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

    def fan_out(self, channel: str, keys: list[str], data: str) -> None:
        targets: set[Connection] = set()
        for key in [*keys, ALL]:
            targets |= self.subscribers.get((channel, key), set())
        for connection in targets:
            connection.offer(channel, keys[0] if keys else ALL, data)

    async def start(self, bus: Bus) -> None:
        """Subscribe once per subject pattern (called when NATS connects)."""
        for channel, subject in MARKET_SUBJECTS.items():
            await bus.subscribe(subject, EVENT_MODELS[channel], self._market_handler(channel))
        for channel, subject in OTHER_SUBJECTS.items():
            await bus.subscribe(subject, Published, self._other_handler(channel))

    def _market_handler(self, channel: str) -> Any:
        async def on_event(event: Any, _msg: Msg) -> None:
            self.fan_out(channel, [event.symbol], orjson.dumps(shape(channel, event)).decode())
        return on_event

    def _other_handler(self, channel: str) -> Any:
        async def on_event(payload: Published, _msg: Msg) -> None:
            body = payload.model_dump()
            related = [body["symbol"]] if isinstance(body.get("symbol"), str) else []
            related += [item for item in body.get("related_symbols") or [] if isinstance(item, str)]
            keys = [symbol.split("/")[0].upper() for symbol in related]
            self.fan_out(channel, keys, orjson.dumps(body).decode())
        return on_event


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
    event = EVENT_MODELS[channel].model_validate_json(raw)
    return orjson.dumps(shape(channel, event)).decode()
