"""Steady client load for bench/faults.py, in a process of its own (so its CPU is its own): REST polling and
WebSocket subscribers through the gateway, every outcome written as one JSON line to a log the bench reads.

- REST: `REST_PER_S` GETs a second, rotating over `REST_PATHS`, each on its own task (a stalled request never
  holds the schedule back). Logged: `{"k": "rest", "t": sent (epoch s), "path", "status" (0: no HTTP answer),
  "ms", "error"}`.
- WebSocket: `WS_CLIENTS` clients subscribed to `trades` of the bench's pairs (the channel that delivers every
  event, in order). A client that loses its connection reconnects (through the gateway) and resumes its
  session with the last `seq` it received, as the contract says; when the answer is a `gap` it subscribes
  again. Logged: every trade (`"k": "trade"`, client, pair, exchange trade id, `seq`), every `gap`,
  `resumed`, connect and close, and a `seq` that is not the last one plus one (`"k": "seq_hole"`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
from websockets.asyncio.client import connect

REST_PER_S = 20
WS_CLIENTS = 6


class Log:
    """The JSON-lines log, flushed every few lines (the bench reads it while it grows)."""

    def __init__(self, path: Path) -> None:
        self.file: IO[bytes] = path.open("ab")
        self.lines = 0

    def write(self, **record: Any) -> None:
        self.file.write(orjson.dumps(record) + b"\n")
        self.lines += 1
        if self.lines % 20 == 0:
            self.file.flush()


async def poll(client: httpx.AsyncClient, path: str, log: Log) -> None:
    sent = time.time()
    status, error = 0, ""
    try:
        response = await client.get(path)
        status = response.status_code
        if status != 200:
            error = error_code(response)
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    log.write(k="rest", t=sent, path=path, status=status, ms=round((time.time() - sent) * 1000, 1), error=error)


def error_code(response: httpx.Response) -> str:
    """The envelope's error code; for an answer that is not the contract's envelope, its text."""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return repr(response.text[:40])


async def rest_load(gateway: str, paths: list[str], log: Log) -> None:
    """REST_PER_S requests a second, on schedule whatever the answers take."""
    async with httpx.AsyncClient(base_url=gateway, timeout=15.0) as client:
        pending: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        for count, path in enumerate(itertools.cycle(paths)):
            await asyncio.sleep(max(0.0, started + count / REST_PER_S - time.monotonic()))
            task = asyncio.create_task(poll(client, path, log))
            pending.add(task)
            task.add_done_callback(pending.discard)


class Subscriber:
    """One WebSocket client: subscribes, and on a lost connection reconnects and resumes its session."""

    def __init__(self, index: int, url: str, pairs: list[str], log: Log) -> None:
        self.index, self.url, self.pairs, self.log = index, url, pairs, log
        self.session: str | None = None
        self.last_seq = 0
        self.connections = 0

    async def run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._connection()
                backoff = 0.2
            except Exception as exc:  # refused, reset, closed: all mean reconnect
                self.log.write(k="closed", t=time.time(), c=self.index, why=type(exc).__name__)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _connection(self) -> None:
        async with connect(self.url, open_timeout=10, close_timeout=1) as socket:
            self.connections += 1
            hello = orjson.loads(await asyncio.wait_for(socket.recv(), 10))
            self.log.write(k="connect", t=time.time(), c=self.index, n=self.connections)
            if self.session is None:
                await self._subscribe(socket, hello)
            else:
                await socket.send(
                    orjson.dumps({"action": "resume", "session": self.session, "last_seq": self.last_seq})
                )
            async for raw in socket:
                await self._frame(socket, orjson.loads(raw), hello)
        self.log.write(k="closed", t=time.time(), c=self.index, why="closed")

    async def _subscribe(self, socket: Any, hello: dict[str, Any]) -> None:
        self.session, self.last_seq = str(hello["session"]), 0
        await socket.send(orjson.dumps({"action": "subscribe", "channel": "trades", "symbols": self.pairs}))

    async def _frame(self, socket: Any, frame: dict[str, Any], hello: dict[str, Any]) -> None:
        now = time.time()
        if "seq" in frame:
            if frame["seq"] != self.last_seq + 1:
                self.log.write(k="seq_hole", t=now, c=self.index, expected=self.last_seq + 1, got=frame["seq"])
            self.last_seq = frame["seq"]
            if frame.get("channel") == "trades":
                data = frame["data"]
                self.log.write(k="trade", t=now, c=self.index, seq=frame["seq"], pair=data["symbol"], id=data["id"])
            return
        kind = frame.get("type")
        if kind == "gap":
            self.log.write(k="gap", t=now, c=self.index, reason=frame.get("reason"), channels=frame.get("channels"))
            if frame.get("reason") == "unknown_session":
                await self._subscribe(socket, hello)  # a fresh session on this connection
        elif kind == "resumed":
            self.log.write(k="resumed", t=now, c=self.index, replayed=frame.get("replayed"))


async def main(gateway: str, paths: list[str], pairs: list[str], log_path: Path) -> None:
    log = Log(log_path)
    ws_url = gateway.replace("http://", "ws://") + "/ws"
    subscribers = [Subscriber(index, ws_url, pairs, log) for index in range(WS_CLIENTS)]
    tasks = [asyncio.create_task(rest_load(gateway, paths, log))]
    tasks += [asyncio.create_task(subscriber.run()) for subscriber in subscribers]
    try:
        while True:
            await asyncio.sleep(0.5)
            log.file.flush()
    finally:
        for task in tasks:
            task.cancel()
        log.file.flush()


def run(gateway: str, paths: list[str], pairs: list[str], log_path: str) -> None:
    """The process's entry point (multiprocessing): runs until the bench terminates it."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(gateway, paths, pairs, Path(log_path)))


def read(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The log's complete lines from byte `offset`; the new offset."""
    with path.open("rb") as file:
        file.seek(offset)
        data = file.read()
    end = data.rfind(b"\n") + 1
    return [json.loads(line) for line in data[:end].splitlines() if line], offset + end
