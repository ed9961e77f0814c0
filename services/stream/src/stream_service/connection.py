"""One client connection: what it subscribed to and a bounded outbox drained by a single writer task.

Fast channels (ticker, orderbook, candles) keep only the latest value per symbol, so a slow client gets the
newest state rather than a backlog; trades, news and signals queue in order up to a bound. A client whose
queue overflows `max_overflows` times in a row without catching up is disconnected with a reason. `seq` is
per connection, so each frame is the pre-serialised frame head (channels.Feed.head) with this connection's
`seq` appended: the event is encoded once per feed for all clients.

For resume, each data frame remembers where its event sits in its JetStream stream (`Cursor`). A batch is
written in stream order (an event offered twice, live and by a resume replay, goes out once), so per stream
the position only grows with `seq`; `history()` and `base()` let resume.py answer "what had this client
seen when it received frame `seq`" for the last `HISTORY` frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from prometheus_client import Counter

from .channels import LATEST_ONLY
from .metrics import DROPS, MESSAGES_OUT, SEND_LATENCY

MAX_QUEUED = 256
MAX_OVERFLOWS = 1024
MAX_CONTROL_QUEUED = 64
SEND_TIMEOUT_S = 10.0
HISTORY = 2048


class Cursor(NamedTuple):
    stream: str
    seq: int


class Frame(NamedTuple):
    feed: str | None  # None: a protocol message, sent as is; "": a mark (history only)
    text: str  # a data frame's head (everything but `,"seq":n}`), or the whole protocol message
    cursor: Cursor | None


@functools.cache
def _sent(channel: str) -> Counter:
    return MESSAGES_OUT.labels(channel)


class Closed(Exception):
    """The server ended the connection; `reason` is what the metrics count."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


SLOW_CONSUMER = (1008, "slow consumer: messages were dropped", "slow_consumer")
IDLE = (1000, "idle: no subscription and no message", "idle")


class Connection:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self._send = send
        self._close = close
        self.seq = 0
        self.subscriptions: set[tuple[str, str]] = set()
        self._latest: dict[tuple[str, str], Frame] = {}
        self._queue: deque[Frame] = deque()
        # (seq, cursor) of the last HISTORY data frames with a cursor; `_base` is the cursors before them.
        self._history: deque[tuple[int, Cursor]] = deque()
        self._base: dict[str, int] = {}
        self.held = False  # while a resume replays, the writer waits so replayed and live frames are ordered
        self._max_queued = max_queued
        self._overflows = 0
        self._controls = 0  # protocol messages queued and not yet written
        self._wake = asyncio.Event()
        self.closed = False
        self.last_seen = asyncio.get_running_loop().time()  # the client's last message
        self._ending: tuple[int, str, str] = SLOW_CONSUMER

    def offer(self, feed: str, symbol: str, head: str, cursor: Cursor | None = None) -> None:
        """Queue one event's frame `head` of a feed for this client (never blocks)."""
        if self.closed:
            return
        frame = Frame(feed, head, cursor)
        if feed in LATEST_ONLY:
            held = self._latest.get((feed, symbol))
            if held is None or held.cursor is None or cursor is None or cursor.seq >= held.cursor.seq:
                self._latest[(feed, symbol)] = frame
        elif len(self._queue) >= self._max_queued:
            self._overflows += 1
            DROPS.labels(feed, "queue_full").inc()
            if self._overflows >= MAX_OVERFLOWS:
                self.end(SLOW_CONSUMER)
                return
            self._queue.popleft()
            self._queue.append(frame)
        else:
            self._queue.append(frame)
        if not self.held:
            self._wake.set()

    def end(self, how: tuple[int, str, str]) -> None:
        """Close the connection from the server side (the writer sends the close frame)."""
        self.closed = True
        self._ending = how
        self._wake.set()

    def control(self, frame: str) -> None:
        """Queue a protocol message (connection, pong, error, heartbeat) in order with the data. A client that
        lets MAX_CONTROL_QUEUED of them pile up unread is not reading: it is disconnected, like a slow one."""
        if self.closed:
            return
        self._controls += 1
        if self._controls > MAX_CONTROL_QUEUED:
            DROPS.labels("control", "queue_full").inc()
            self.end(SLOW_CONSUMER)
            return
        self._queue.append(Frame(None, frame, None))
        self._wake.set()

    def mark(self, cursor: Cursor) -> None:
        """Record, in order with the data, that this client is now current up to `cursor` (a subscription
        starts there: its snapshot stands for everything before). Nothing is sent for a mark."""
        self._queue.append(Frame("", "", cursor))
        if not self.held:
            self._wake.set()

    def release(self) -> None:
        """End a hold (resume replay done): everything queued meanwhile goes out, in stream order."""
        self.held = False
        self._wake.set()

    def history(self) -> list[tuple[int, Cursor]]:
        """(seq, stream position) of the last data frames that came from a stream, oldest first."""
        return list(self._history)

    def base(self) -> dict[str, int]:
        """Stream positions delivered before the oldest frame in `history`."""
        return dict(self._base)

    def adopt(self, seq: int, cursors: dict[str, int]) -> None:
        """Continue a resumed session: numbering goes on from `seq`, history starts at its cursors."""
        self.seq = seq
        self._base = dict(cursors)
        self._history.clear()

    async def run_writer(self) -> None:
        """Drain the outbox until the connection closes; one task per connection, never one per message."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.closed:
                code, reason, label = self._ending
                with contextlib.suppress(Exception):
                    await self._close(code, reason)
                raise Closed(label)
            if self.held and all(frame.feed is not None for frame in self._queue):  # marks wait too
                continue
            # One timer per batch (not per frame): a send only waits while the client's socket buffer is
            # full, and a client stuck that long is gone.
            async with asyncio.timeout(SEND_TIMEOUT_S):
                for frame in self._take():
                    await self._write(frame)
            self._overflows = 0

    def _take(self) -> list[Frame]:
        """The outbox as one batch: protocol messages first (in order); during a hold, only those."""
        if not self._latest and len(self._queue) == 1 and not self.held:  # the common case: one frame
            return [self._queue.pop()]
        control = [frame for frame in self._queue if frame.feed is None]
        if self.held:
            self._queue = deque(frame for frame in self._queue if frame.feed is not None)
            return control
        data = [frame for frame in self._queue if frame.feed is not None] + list(self._latest.values())
        self._queue.clear()
        self._latest = {}
        # Stream order within the batch (stable: frames without a cursor keep their place at the front).
        data.sort(key=lambda frame: (frame.cursor.stream, frame.cursor.seq) if frame.cursor else ("", 0))
        seen: set[Cursor] = set()
        unique = []
        for frame in data:
            if frame.cursor is None or frame.cursor not in seen:
                unique.append(frame)
                if frame.cursor is not None:
                    seen.add(frame.cursor)
        return control + unique

    def _remember(self, cursor: Cursor) -> None:
        self._history.append((self.seq, cursor))
        if len(self._history) > HISTORY:
            _, dropped = self._history.popleft()
            self._base[dropped.stream] = dropped.seq

    async def _write(self, item: Frame) -> None:
        feed, text, cursor = item
        if feed == "":  # a mark: history only
            if cursor is not None:
                self._remember(cursor)
            return
        if feed is None:
            frame = text
            self._controls -= 1
        else:
            self.seq += 1
            frame = f'{text},"seq":{self.seq}}}'
            if cursor is not None:
                self._remember(cursor)
        # No asyncio.wait_for here: it wraps every send in a new task, which profiling showed was 40 % of the
        # replica's CPU at 5,000 clients (the batch's timeout is in run_writer).
        started = time.perf_counter()
        await self._send(frame)
        SEND_LATENCY.observe(time.perf_counter() - started)
        if feed is not None:
            _sent(feed).inc()
