"""The WebSocket endpoints: `/ws` (any channel), `/ws/ticker` and `/ws/trades` (channel implied by the path).

Each connection has two tasks: this reader and its writer (connection.py). Client mistakes are answered
with an error message and the connection stays open; a client sending faster than its allowance gets
RATE_LIMITED errors. Dead peers are found by uvicorn's WebSocket pings (ws_ping_interval/timeout). When a
connection ends its session is saved for resume (resume.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from suite_shared.caller import current_client
from suite_shared.envelope import now_ms

from . import resume
from .channels import ALL, CHANNELS, FEEDS
from .connection import IDLE, Closed, Connection
from .hub import snapshot
from .metrics import CLIENT_ERRORS, CONNECTIONS, DISCONNECTS
from .protocol import Ping, ProtocolError, Resume, Subscription, parse_message
from .state import Stream, StreamService

router = APIRouter()

MAX_SUBSCRIPTIONS = 100
MESSAGES_PER_SECOND = 20
BURST = 40
ERRORS_PER_SECOND = 2  # error answers to one client; the rest of a flood is counted, not answered
ERROR_BURST = 10


class RateLimit:
    """Token bucket for one client's messages."""

    def __init__(self, per_second: float = MESSAGES_PER_SECOND, burst: int = BURST) -> None:
        self.rate, self.capacity, self.tokens, self.stamp = per_second, burst, float(burst), time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


async def _handle(service: StreamService, connection: Connection, request: Subscription) -> None:
    hub = service.hub
    if request.action == "unsubscribe":
        hub.remove(connection, request.feed, request.symbols)
        connection.control(_frame({"type": "unsubscribed", **_described(request)}))
        return
    if len(connection.subscriptions) + max(len(request.symbols), 1) > MAX_SUBSCRIPTIONS:
        raise ProtocolError("TOO_MANY_SUBSCRIPTIONS", f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection.")
    hub.add(connection, request.feed, request.symbols)
    hub.mark(connection, request.feed)
    connection.control(_frame({"type": "subscribed", **_described(request)}))
    await _snapshots(service, connection, request.feed, request.symbols or (ALL,))


def _described(request: Subscription) -> dict[str, object]:
    """A subscription as its acknowledgement names it: the channel, and for an alias the frames' `type`."""
    feed = FEEDS[request.feed]
    alias = {"frames": feed.name} if feed.is_alias else {}
    return {"channel": feed.channel.name, **alias, "symbols": list(request.symbols)}


async def _snapshots(service: StreamService, connection: Connection, feed: str, keys: tuple[str, ...]) -> None:
    """The latest value of each subscribed pair (`ALL`: every streamed pair) of a market feed."""
    if FEEDS[feed].channel.snapshot_key is None:
        return
    for symbol in sorted(service.streamed) if ALL in keys else keys:
        data = await snapshot(service.ctx.cache_redis, feed, symbol)
        if data is not None:
            connection.offer(feed, symbol, data)


async def _resume(service: StreamService, connection: Connection, request: Resume, state: dict[str, str]) -> None:
    """Restore a saved session's subscriptions and replay what it missed, or say `gap` (resume.py)."""
    if connection.subscriptions or connection.seq:
        raise ProtocolError("INVALID_MESSAGE", "Resume must be the first request on a new connection.")
    context = service.ctx
    saved = await resume.take(context.redis, request.session)
    if saved is None:
        resume.count("unknown_session")
        connection.control(
            _frame(
                {
                    "type": "gap",
                    "reason": "unknown_session",
                    "session": request.session,
                    "message": "The session is unknown or expired: subscribe again.",
                }
            )
        )
        return
    hub = service.hub
    cursors = saved.cursors_at(request.last_seq)
    connection.held = True
    try:
        for channel, key in saved.subscriptions:
            hub.add(connection, channel, (key,) if key != "*" else ())
        state["session"] = request.session
        gaps: list[dict[str, object]] = []
        replayed = 0
        if cursors is None:
            gaps.append(
                {
                    "channels": sorted({channel for channel, _ in saved.subscriptions}),
                    "reason": "too_old",
                    "message": f"last_seq {request.last_seq} is outside the positions kept for this session.",
                }
            )
            connection.adopt(max(request.last_seq, saved.seq), {})
            for channel, key in saved.subscriptions:
                await _snapshots(service, connection, channel, (key,))
        else:
            connection.adopt(request.last_seq, cursors)
            outcome = await resume.replay(context.bus, connection, saved.subscriptions, cursors)
            gaps, replayed = outcome.gaps, outcome.replayed
        subscriptions: dict[str, list[str]] = {}
        for channel, key in saved.subscriptions:
            subscriptions.setdefault(channel, []).append(key)
        connection.control(
            _frame(
                {
                    "type": "resumed",
                    "session": request.session,
                    "last_seq": request.last_seq,
                    "replayed": replayed,
                    "subscriptions": subscriptions,
                }
            )
        )
        for gap in gaps:
            connection.control(_frame({"type": "gap", **gap}))
        resume.count("gap" if gaps else "resumed")
    finally:
        connection.release()


def _frame(message: dict[str, object]) -> str:
    return orjson.dumps(message).decode()


async def _read(
    websocket: WebSocket, service: StreamService, connection: Connection, implied: str | None, state: dict[str, str]
) -> None:
    limit, errors, streamed = RateLimit(), RateLimit(ERRORS_PER_SECOND, ERROR_BURST), service.streamed
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text") or message.get("bytes") or b""
        connection.last_seen = asyncio.get_running_loop().time()
        try:
            if not limit.allow():
                raise ProtocolError("RATE_LIMITED", f"At most {MESSAGES_PER_SECOND} messages per second.")
            request = parse_message(raw, implied, streamed)
            if isinstance(request, Ping):
                connection.control(_frame({"type": "pong", "timestamp": now_ms()}))
            elif isinstance(request, Resume):
                await _resume(service, connection, request, state)
            else:
                await _handle(service, connection, request)
        except ProtocolError as error:
            CLIENT_ERRORS.labels(error.code).inc()
            if errors.allow():  # a flood of bad messages gets a few answers, not one each
                connection.control(error.frame())


async def _heartbeat(connection: Connection, every_s: float, idle_s: float) -> None:
    """A heartbeat every `every_s`; a connection with no subscription that has said nothing for `idle_s` is
    closed (dead peers are found by the WebSocket pings; this finds live but forgotten ones)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every_s)
        if not connection.subscriptions and loop.time() - connection.last_seen > idle_s:
            connection.end(IDLE)
            return
        connection.control(_frame({"type": "heartbeat", "timestamp": now_ms()}))


def _sender(websocket: WebSocket) -> Callable[[str], Awaitable[None]]:
    """Frames go to the server's ASGI `send` directly: Starlette's send_text only adds a state check and an
    exception wrapper per message (a tenth of the replica's CPU under fan-out load); a closed socket still
    raises, from the server."""
    send = websocket._send

    async def send_text(frame: str) -> None:
        await send({"type": "websocket.send", "text": frame})

    return send_text


async def serve(websocket: WebSocket, service: StreamService, implied: str | None) -> None:
    client = current_client() or "unknown"
    refused = service.admission.admit(client)
    await websocket.accept()
    if refused is not None:
        code, reason, label = refused
        DISCONNECTS.labels(label).inc()
        await websocket.close(code, reason)
        return
    try:
        await _serve(websocket, service, implied)
    finally:
        service.admission.leave(client)


async def _serve(websocket: WebSocket, service: StreamService, implied: str | None) -> None:
    connection = Connection(_sender(websocket), lambda code, reason: websocket.close(code, reason))
    channels = [implied] if implied else list(CHANNELS)
    settings = service.ctx.settings
    state = {"session": secrets.token_urlsafe(12)}
    connection.control(
        _frame(
            {
                "type": "connection",
                "status": "connected",
                "channels": channels,
                "session": state["session"],
                "resume_window_s": settings.stream_resume_window_s,
            }
        )
    )
    CONNECTIONS.inc()
    heartbeat_s = settings.stream_heartbeat_s
    tasks = [
        asyncio.create_task(connection.run_writer()),
        asyncio.create_task(_read(websocket, service, connection, implied, state)),
        asyncio.create_task(_heartbeat(connection, heartbeat_s, settings.stream_idle_timeout_s)),
    ]
    try:
        done, _ = await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = task.exception()
            if isinstance(error, Closed):
                DISCONNECTS.labels(error.reason).inc()
            elif error is not None and not isinstance(error, (WebSocketDisconnect, OSError)):  # OSError: client gone
                DISCONNECTS.labels(type(error).__name__).inc()
    finally:
        saved = resume.capture(connection)
        service.hub.remove_all(connection)
        await _end(tasks)
        CONNECTIONS.dec()
        if saved.subscriptions:
            async with service.saves:
                await resume.save(service.ctx.redis, state["session"], saved, settings.stream_resume_window_s)


async def _end(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel a connection's tasks and wait for them. Waited for, not awaited: awaiting a task re-raises its
    exception in the awaiting frame, whose traceback then holds that frame, and the frame the tasks, so a
    closed connection's exception, tasks, outbox and history formed a cycle that outlived it (gcpolicy.py
    keeps cycles among frozen objects for half an hour)."""
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait(tasks)
    for task in tasks:  # every outcome looked at, so asyncio does not log the ones "never retrieved"
        if task.done() and not task.cancelled():
            task.exception()


@router.websocket("/ws")
async def any_channel(websocket: WebSocket, service: Stream) -> None:
    await serve(websocket, service, None)


@router.websocket("/ws/ticker")
async def ticker(websocket: WebSocket, service: Stream) -> None:
    await serve(websocket, service, "ticker")


@router.websocket("/ws/trades")
async def trades(websocket: WebSocket, service: Stream) -> None:
    await serve(websocket, service, "trades")
