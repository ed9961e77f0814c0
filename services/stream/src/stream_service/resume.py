"""Resume: a client that reconnects within the window gets what it missed, or an explicit `gap`.

When a connection ends, its session — subscriptions, last `seq`, and the stream positions behind its recent
frames — is saved in Redis for `STREAM_RESUME_WINDOW_S`, so any replica can pick it up (no sticky
routing). The client sends `{"action": "resume", "session": "<id from its connection message>",
"last_seq": <last seq it received>}`; the replica restores the subscriptions, holds the connection's
writer, replays from the JetStream streams every event after the client's position on its subjects (for
ticker/orderbook/candles only the newest per symbol, as live), then lets live events through, in stream
order and without duplicates, numbered on from `last_seq`.

When it cannot: an unknown or expired session, a `last_seq` older than the positions kept, or events
already gone from the stream → `{"type": "gap", ...}` says which channel and why; the subscriptions are
restored anyway and ticker/orderbook/candles get a fresh snapshot. A replica that crashes (no clean close)
saves nothing: its clients get a `gap` for an unknown session and resubscribe.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import ValidationError

from suite_shared.bus import Bus, ReplayIncomplete
from suite_shared.redis_link import RedisDown, RedisLink

from .channels import ALL, FEEDS, LATEST_ONLY
from .connection import Connection, Cursor
from .metrics import RESUMES

log = logging.getLogger(__name__)

MAX_REPLAY = 200  # per queued channel (trades, news, signals): more than this is a gap
SESSION_KEY = "stream:session:{}"


@dataclass
class SavedSession:
    subscriptions: list[tuple[str, str]]
    seq: int
    base: dict[str, int]
    history: list[tuple[int, str, int]] = field(default_factory=list)

    def cursors_at(self, seq: int) -> dict[str, int] | None:
        if seq > self.seq:
            return None
        if self.history and seq < self.history[0][0] - 1:
            return None
        cursors = dict(self.base)
        for frame_seq, stream, stream_seq in self.history:
            if frame_seq > seq:
                break
            cursors[stream] = stream_seq
        return cursors


def capture(connection: Connection) -> SavedSession:
    history = [(seq, cursor.stream, cursor.seq) for seq, cursor in connection.history()]
    return SavedSession(sorted(connection.subscriptions), connection.seq, connection.base(), history)


async def save(redis: RedisLink, session_id: str, session: SavedSession, window_s: float) -> None:
    body = orjson.dumps(
        {"subscriptions": session.subscriptions, "seq": session.seq, "base": session.base, "history": session.history}
    )
    with contextlib.suppress(RedisDown):
        await redis.call(lambda client: client.set(SESSION_KEY.format(session_id), body, px=int(window_s * 1000)))


async def take(redis: RedisLink, session_id: str) -> SavedSession | None:
    """The saved session, removed so that it is resumed once (None: unknown, expired, or Redis down)."""
    try:
        raw = await redis.call(lambda client: client.getdel(SESSION_KEY.format(session_id)))
    except RedisDown:
        return None
    if not raw:
        return None
    body = orjson.loads(raw)
    return SavedSession(
        [(channel, key) for channel, key in body["subscriptions"]],
        int(body["seq"]),
        {name: int(value) for name, value in body["base"].items()},
        [(int(a), str(b), int(c)) for a, b, c in body["history"]],
    )


@dataclass
class Replay:
    replayed: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)


async def replay(
    bus: Bus, connection: Connection, subscriptions: list[tuple[str, str]], cursors: dict[str, int]
) -> Replay:
    """Offer the connection every event after `cursors` on its subscriptions; it must be held meanwhile."""
    result = Replay()
    by_stream: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for feed, key in subscriptions:
        stream = FEEDS[feed].channel.topic.stream
        if stream is not None:
            by_stream[stream].append((feed, key))
    for stream, subs in by_stream.items():
        start = cursors.get(stream)
        if start is None:
            continue  # nothing was delivered from this stream: nothing to catch up on
        await _replay_stream(bus, connection, stream, subs, start, result)
    return result


async def _replay_stream(
    bus: Bus, connection: Connection, stream: str, subs: list[tuple[str, str]], start: int, result: Replay
) -> None:
    channels = sorted({feed for feed, _ in subs})  # feed names (a channel's own, or an alias)
    try:
        state = await bus.stream_state(stream)
    except Exception as exc:
        log.warning("resume: stream %s unavailable: %s", stream, exc)
        result.gaps.append({"channels": channels, "reason": "stream_unavailable"})
        return
    if state.first_seq > start + 1 and state.messages:
        result.gaps.append(
            {
                "channels": channels,
                "reason": "expired",
                "message": "Some missed events are older than the resume window.",
            }
        )
    if state.last_seq <= start:
        return
    wanted = set(subs)
    filters = sorted({FEEDS[feed].channel.filter_subject(key) for feed, key in subs})
    queued: dict[str, list[tuple[list[str], str, Cursor]]] = defaultdict(list)
    latest: dict[tuple[str, str], tuple[str, Cursor]] = {}
    try:
        async for record in bus.replay(stream, filters, start + 1):
            for channel in (name for name in channels if FEEDS[name].channel.topic.matches(record.subject)):
                try:
                    event_keys, data = FEEDS[channel].decode(record.data)
                except ValidationError:
                    continue
                keys = [key for key in event_keys if (channel, key) in wanted]
                keys = keys or ([ALL] if (channel, ALL) in wanted else [])
                if not keys:
                    continue
                cursor = Cursor(stream, record.seq)
                if channel in LATEST_ONLY:  # the newest per symbol, also for a subscription to every symbol
                    latest[(channel, event_keys[0] if event_keys else ALL)] = (data, cursor)
                else:
                    queued[channel].append((keys, data, cursor))
    except ReplayIncomplete as exc:  # what came is offered; the rest is reported as a gap, not skipped
        log.warning("resume: %s", exc)
        result.gaps.append({"channels": channels, "reason": "stream_unavailable"})
    for (channel, key), (data, cursor) in latest.items():
        connection.offer(channel, key, data, cursor)
        result.replayed += 1
    for channel, items in queued.items():
        if len(items) > MAX_REPLAY:
            result.gaps.append(
                {"channels": [channel], "reason": "too_many_missed", "missed": len(items), "replayed": MAX_REPLAY}
            )
            items = items[-MAX_REPLAY:]
        for keys, data, cursor in items:
            connection.offer(channel, keys[0], data, cursor)
            result.replayed += 1


def count(outcome: str) -> None:
    RESUMES.labels(outcome).inc()
