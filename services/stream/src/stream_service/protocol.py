"""The WebSocket protocol of the contract: client messages in, typed; every mistake a clear error.

Client messages: `{"action": "subscribe"|"unsubscribe", "channel": "...", "symbols": [...]}`, `{"action": "resume",
"session": "...", "last_seq": n}` and `{"type": "ping"}`. Anything else — not JSON, too large, an unknown action,
channel or symbol, too many subscriptions — becomes a `ProtocolError`, answered with `{"type": "error", ...}` on an
open connection.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import orjson

from suite_shared.errors import InvalidSymbol
from suite_shared.symbols import parse_pair

from .channels import CHANNELS, MARKET_CHANNELS

MAX_MESSAGE_BYTES = 4096
MAX_SYMBOLS_PER_MESSAGE = 50
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


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
    channel: str
    symbols: tuple[str, ...]  # canonical pairs; empty for all of a non-market channel


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
    action = message.get("action")
    if action == "resume":
        return _resume(message)
    if action not in ("subscribe", "unsubscribe"):
        raise ProtocolError("UNKNOWN_ACTION", "Use action subscribe, unsubscribe or resume, or type ping.")
    channel = message.get("channel") or implied_channel
    if channel not in CHANNELS:
        raise ProtocolError("UNKNOWN_CHANNEL", f"Unknown channel {channel!r}; channels: {', '.join(CHANNELS)}.")
    if implied_channel is not None and channel != implied_channel:
        raise ProtocolError("UNKNOWN_CHANNEL", f"This endpoint carries only the {implied_channel} channel.")
    return Subscription(action, channel, _symbols(message.get("symbols"), channel, streamed))


def _resume(message: dict[str, object]) -> Resume:
    session, last_seq = message.get("session"), message.get("last_seq")
    if not isinstance(session, str) or not SESSION_ID.fullmatch(session):
        raise ProtocolError("INVALID_MESSAGE", "`session` must be the id from the connection message.")
    if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0:
        raise ProtocolError("INVALID_MESSAGE", "`last_seq` must be the last seq received (an integer >= 0).")
    return Resume(session, last_seq)


def _symbols(raw: object, channel: str, streamed: Collection[str]) -> tuple[str, ...]:
    if raw is None or raw == []:
        if channel in MARKET_CHANNELS:
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
        if channel in MARKET_CHANNELS and pair not in streamed:
            raise ProtocolError("INVALID_SYMBOL", f"{pair} is not streamed; streamed: {', '.join(sorted(streamed))}.")
        pairs.append(pair)
    return tuple(dict.fromkeys(pairs))
