"""A stream replica returns to its baseline after clients leave: nothing is kept per closed connection.

Many clients connect, subscribe, receive a few ticks, stay across a few of the garbage collector's freezes
(gcpolicy.py: what is alive then is moved out of full collections, so a cycle in a closed connection's
objects would stay for half an hour) and leave, several times over. The replica's open connections and
subscriptions must go back to 0, every client's session must be saved for resume (all leave at once: more
saves than Redis connections), and its memory must not grow with the connections it has served. Three
cycles used to keep each closed connection (uvicorn's two protocols, runner.py; its tasks' exception,
sessions._end): about 3 KB a connection here, more the more frames it had received.
"""

from __future__ import annotations

import asyncio
import json
import resource
from collections.abc import Iterator

import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from prometheus_client.parser import text_string_to_metric_families

from harness import Suite, free_port, rss_kib, wait_for
from suite_shared.bus import Bus
from suite_shared.envelope import now_ms
from suite_shared.messages.market import TickerEvent
from suite_shared.topics import MARKET_TICKER

CLIENTS = 600
ROUNDS = 4  # measured, after two that let pools, caches and the allocator settle
FREEZE_EVERY_S = 0.5
TICK_EVERY_S = 0.1  # while the clients are connected, so each has an outbox and a history
KEPT_KB_PER_CONNECTION = 1.0  # the bound asserted: ~0.3 KB of allocator noise measured, 3 KB with a cycle


@pytest.fixture
def replica(suite: Suite) -> Iterator[str]:
    """A stream replica of its own (no other test's clients), freezing often so a test round spans freezes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * CLIENTS + 200:
        pytest.skip(f"the descriptor limit ({hard}) is too low for {CLIENTS} clients")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4 * CLIENTS)), hard))  # inherited
    port = free_port()
    suite.spawn(
        "stream-churn",
        "stream",
        f"http://127.0.0.1:{port}/health/live",
        STREAM_PORT=str(port),
        GC_FREEZE_EVERY_S=str(FREEZE_EVERY_S),
        STREAM_MAX_CONNECTIONS_PER_CLIENT=str(10 * CLIENTS),
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        suite.stop("stream-churn")


def gauges(address: str) -> dict[str, float]:
    text = httpx.get(f"http://{address}/metrics", timeout=10).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in ("stream_connections", "stream_subscriptions")
    }


async def churn(address: str, bus: Bus, state: aioredis.Redis) -> None:
    """CLIENTS connect and subscribe, receive ticks across freezes, and leave at once while ticks still come;
    every one's session is saved for resume."""
    gate = asyncio.Semaphore(50)
    sessions: list[str] = []

    async def join(index: int) -> websockets.ClientConnection:
        async with gate:
            socket = await websockets.connect(f"ws://{address}/ws", open_timeout=60, max_queue=None)
            hello = json.loads(await socket.recv())
            sessions.append(hello["session"])
            await socket.send(json.dumps({"action": "subscribe", "channel": "ticker", "symbols": ["TEST/USDT"]}))
            while json.loads(await asyncio.wait_for(socket.recv(), 30)).get("type") != "subscribed":
                pass
            return socket

    sockets = await asyncio.gather(*(join(index) for index in range(CLIENTS)))
    assert gauges(address)["stream_connections"] == CLIENTS
    ticking = asyncio.create_task(tick(bus))  # until they have all gone: clients leave while frames flow
    await asyncio.sleep(3 * FREEZE_EVERY_S)
    for socket in sockets[1::2]:
        socket.transport.abort()  # half vanish without a close handshake
    await asyncio.gather(*(socket.close() for socket in sockets[::2]))
    await asyncio.to_thread(wait_for, lambda: gauges(address)["stream_connections"] == 0, 30.0)
    ticking.cancel()
    keys = [f"stream:session:{session}" for session in sessions]
    for _ in range(60):  # saved after the connection is counted out
        saved = await state.exists(*keys)
        if saved == CLIENTS:
            break
        await asyncio.sleep(0.5)
    assert saved == CLIENTS, f"{CLIENTS - saved} of {CLIENTS} sessions were not saved"


async def tick(bus: Bus) -> None:
    price = 1.0
    while True:
        now = now_ms()
        event = TickerEvent(
            symbol="TEST/USDT",
            price=price,
            change_24h=0.0,
            volume_24h=1.0,
            timestamp=now,
            received_at=now,
            source="binance",
        )
        await bus.publish(MARKET_TICKER, event, subject="market.ticker.testusdt")
        price += 1.0
        await asyncio.sleep(TICK_EVERY_S)


async def test_clients_leaving_together_leave_their_sessions_and_nothing_else(suite: Suite, replica: str) -> None:
    pid = suite.processes["stream-churn"].pid
    bus = Bus(suite.env.values["NATS_URL"], "stream-churn-test")
    bus.start()
    assert await bus.wait_connected(5)
    state = aioredis.Redis.from_url(suite.env.values["REDIS_URL"])

    async def served() -> None:
        await churn(replica, bus, state)
        assert gauges(replica)["stream_subscriptions"] == 0
        await asyncio.sleep(3 * FREEZE_EVERY_S)  # the closed connections' objects have met a freeze

    try:
        for _ in range(2):
            await served()
        baseline = rss_kib(pid)
        for _ in range(ROUNDS):
            await served()
        grown = rss_kib(pid) - baseline
    finally:
        await bus.close()
        await state.aclose()
    assert grown < KEPT_KB_PER_CONNECTION * CLIENTS * ROUNDS, (
        f"the replica grew {grown} KB over {CLIENTS * ROUNDS} closed connections"
    )
