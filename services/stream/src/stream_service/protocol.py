"""The WebSocket protocol of the contract: client messages in, typed; every mistake a clear error.

Client messages: `{"action": "subscribe"|"unsubscribe", "channel": "...", "symbols": [...]}`, `{"action": "resume",
"session": "...", "last_seq": n}` and `{"type": "ping"}`. Anything else — not JSON, too large, an unknown action,
channel or symbol, too many subscriptions — becomes a `ProtocolError`, answered with `{"type": "error", ...}` on an
open connection.

The Dreammaker frontend's subscribe spellings are accepted too, each subscribing to an alias feed (channels.py)
whose frames that client routes on:
- `{"action": "subscribe", "type": "market_data"|"signal_update", "symbols": [...]}` (its dataManager);
- `{"type": "subscribe", "topic": "price_update"}` (its WebSocketManager; no symbols: every streamed pair);
- `{"type": "subscribe", "symbol": "BTCUSDT"}` (its signal view: `signal_update` for that asset);
and the same with `unsubscribe`. Any other spelling gets the contract's error.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import orjson

from suite_shared.errors import InvalidSymbol
from suite_shared.symbols import parse_pair

from .channels import CHANNELS, FEEDS

MAX_MESSAGE_BYTES = 4096
MAX_SYMBOLS_PER_MESSAGE = 50
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
ACTIONS = ("subscribe", "unsubscribe")
ALIASES = tuple(name for name, feed in FEEDS.items() if feed.is_alias)


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def frame(self) -> str:
        return orjson.dumps({"type": "error", "error": {"code": self.code, "message": self.message}}).decode()


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Resume:
    session: str
    last_seq: int


@dataclass(frozen=True)
class Subscription:
    action: str  # subscribe | unsubscribe
    feed: str  # a channel (the contract's frames) or an alias feed (channels.FEEDS)
    symbols: tuple[str, ...]  # canonical pairs; empty: every symbol (not for a contract market channel)


def parse_message(
    raw: str | bytes, implied_channel: str | None, streamed: Collection[str]
) -> Ping | Subscription | Resume:
    """One client message, validated; `streamed` are the pairs market channels carry."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("MESSAGE_TOO_LARGE", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError("INVALID_JSON", "Messages must be JSON objects.") from exc
    if not isinstance(message, dict):
        raise ProtocolError("INVALID_MESSAGE", "Messages must be JSON objects.")
    if message.get("type") == "ping":
        return Ping()
    if message.get("action") == "resume":
        return _resume(message)
    action, feed, symbols = _subscription(message, implied_channel)
    if implied_channel is not None and FEEDS[feed].channel.name != implied_channel:
        raise ProtocolError("UNKNOWN_CHANNEL", f"This endpoint carries only the {implied_channel} channel.")
    return Subscription(action, feed, _symbols(symbols, feed, streamed))


def _subscription(message: dict[str, object], implied_channel: str | None) -> tuple[str, str, object]:
    """(action, feed, raw symbols) of a subscribe or unsubscribe, in the contract's spelling or the frontend's."""
    action, kind = message.get("action"), message.get("type")
    if action in ACTIONS and "channel" not in message and kind in ALIASES:
        return str(action), str(kind), message.get("symbols")
    if kind in ACTIONS and "topic" in message:
        topic = message["topic"]
        if topic not in ALIASES:
            raise ProtocolError("UNKNOWN_CHANNEL", f"Unknown topic {topic!r}; topics: {', '.join(ALIASES)}.")
        return str(kind), str(topic), message.get("symbols")
    if kind in ACTIONS and "symbol" in message:
        return str(kind), "signal_update", [message["symbol"]]
    if action not in ACTIONS:
        raise ProtocolError("UNKNOWN_ACTION", "Use action subscribe, unsubscribe or resume, or type ping.")
    channel = message.get("channel") or implied_channel
    if channel not in CHANNELS:
        raise ProtocolError("UNKNOWN_CHANNEL", f"Unknown channel {channel!r}; channels: {', '.join(CHANNELS)}.")
    return str(action), str(channel), message.get("symbols")


def _resume(message: dict[str, object]) -> Resume:
    session, last_seq = message.get("session"), message.get("last_seq")
    if not isinstance(session, str) or not SESSION_ID.fullmatch(session):
        raise ProtocolError("INVALID_MESSAGE", "`session` must be the id from the connection message.")
    if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
        raise ProtocolError("INVALID_MESSAGE", "`last_seq` must be the last seq received (an integer >= 0).")
    return Resume(session, last_seq)


def _symbols(raw: object, feed: str, streamed: Collection[str]) -> tuple[str, ...]:
    by_pair = FEEDS[feed].channel.keyed_by == "pair"
    if raw is None or raw == []:
        if by_pair and not FEEDS[feed].is_alias:  # the frontend's price feeds may mean every streamed pair
            raise ProtocolError("INVALID_SYMBOL", 'Name the symbols to subscribe to, e.g. ["BTC/USDT"].')
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ProtocolError("INVALID_MESSAGE", "`symbols` must be a list of strings.")
    if len(raw) > MAX_SYMBOLS_PER_MESSAGE:
        raise ProtocolError("TOO_MANY_SUBSCRIPTIONS", f"At most {MAX_SYMBOLS_PER_MESSAGE} symbols per message.")
    pairs = []
    for item in raw:
        try:
            pair = str(parse_pair(item))
        except InvalidSymbol as exc:
            raise ProtocolError("INVALID_SYMBOL", f"Malformed symbol {item!r}.") from exc
        if by_pair and pair not in streamed:
            raise ProtocolError("INVALID_SYMBOL", f"{pair} is not streamed; streamed: {', '.join(sorted(streamed))}.")
        pairs.append(pair)
    return tuple(dict.fromkeys(pairs))
