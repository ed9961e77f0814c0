"""One client connection: what it subscribed to and a bounded outbox drained by a single writer task.

Fast channels (ticker, orderbook, candles) keep only the latest value per symbol, so a slow client gets the
newest state rather than a backlog; trades, news and signals queue in order up to a bound. A client whose
queue overflows `max_overflows` times in a row without catching up is disconnected with a reason. `seq` is
per connection, so each frame is the pre-serialised data with this connection's `seq` spliced in: the event
is encoded once for all clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from .metrics import DROPS, MESSAGES_OUT, SEND_LATENCY

COALESCED = frozenset({"ticker", "orderbook", "candles"})
MAX_QUEUED = 256
MAX_OVERFLOWS = 1024
SEND_TIMEOUT_S = 10.0


class SlowConsumer(Exception):
    """The client does not read fast enough; it is disconnected."""


class Connection:
    def __init__(self, send: Callable[[str], Awaitable[None]], close: Callable[[int, str], Awaitable[None]],
                 max_queued: int = MAX_QUEUED) -> None:
        self._send = send
        self._close = close
        self.seq = 0
        self.subscriptions: set[tuple[str, str]] = set()
        self._latest: dict[tuple[str, str], str] = {}
        self._queue: deque[tuple[str | None, str]] = deque()
        self._max_queued = max_queued
        self._overflows = 0
        self._wake = asyncio.Event()
        self.closed = False

    def offer(self, channel: str, symbol: str, data: str) -> None:
        """Queue one event's serialised `data` for this client (never blocks)."""
        if self.closed:
            return
        if channel in COALESCED:
            self._latest[(channel, symbol)] = data
        elif len(self._queue) >= self._max_queued:
            self._overflows += 1
            DROPS.labels(channel, "queue_full").inc()
            if self._overflows >= MAX_OVERFLOWS:
                self.closed = True
                self._wake.set()
                return
            self._queue.popleft()
            self._queue.append((channel, data))
        else:
            self._queue.append((channel, data))
        self._wake.set()

    def control(self, frame: str) -> None:
        """Queue a protocol message (connection, pong, error, heartbeat) in order with the data."""
        self._queue.append((None, frame))
        self._wake.set()

    async def run_writer(self) -> None:
        """Drain the outbox until the connection closes; one task per connection, never one per message."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.closed:
                with contextlib.suppress(Exception):
                    await self._close(1008, "slow consumer: messages were dropped")
                raise SlowConsumer()
            frames = list(self._queue)
            self._queue.clear()
            latest, self._latest = self._latest, {}
            frames += [(channel, data) for (channel, _), data in latest.items()]
            for channel, data in frames:
                await self._write(channel, data)
            self._overflows = 0

    async def _write(self, channel: str | None, data: str) -> None:
        if channel is None:
            frame = data
        else:
            self.seq += 1
            frame = f'{{"channel":"{channel}","data":{data},"seq":{self.seq}}}'
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(self._send(frame), SEND_TIMEOUT_S)
        SEND_LATENCY.observe(loop.time() - started)
        if channel is not None:
            MESSAGES_OUT.labels(channel).inc()
