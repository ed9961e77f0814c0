"""A hostile client through the real gateway cannot drain the shared upstream budgets, take other clients'
answers away, or grow a service without bound.

The market replica here has its own NATS and Redis (so its caches, budgets and allowances start empty and
nothing else spends them) and the default per-client miss allowance; a private gateway sends every path to
it. The sandbox's call counter says what reached the upstreams.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
import websockets

from harness import Suite, free_port, rss_kib
from suite_shared.envelope import now_ms

HOUR, DAY = 3_600_000, 86_400_000
OTHER_KEY, ADMIN_KEY = "another-client", "operator"
DEFAULT_BUDGETS = {  # the contract's budgets, not the test session's generous ones
    "BUDGET_COINGECKO_PER_MIN": "50",
    "BUDGET_BINANCE_WEIGHT_PER_MIN": "1200",
    "BUDGET_DEFAULT_PER_MIN": "60",
}


@dataclass
class Private:
    gateway: str
    market: str
    suite: Suite

    def rss_mib(self, name: str) -> float:
        return rss_mib(self.suite.processes[name].pid)


def rss_mib(pid: int) -> float:
    return rss_kib(pid) / 1024


@pytest.fixture(scope="module")
def private(suite: Suite) -> Iterator[Private]:
    nats_port, market_port = free_port(), free_port()
    gateway_port, metrics_port, internal_port = free_port(), free_port(), free_port()
    run_dir = suite.run_dir / "abuse-nats"
    (run_dir / "nats").mkdir(parents=True, exist_ok=True)
    suite.spawn(
        "abuse-nats",
        "nats",
        f"tcp://127.0.0.1:{nats_port}",
        NATS_PORT=str(nats_port),
        NATS_MONITOR_PORT=str(free_port()),
        RUN_DIR=str(run_dir),
    )
    state, cache = suite.private_redis("abuse-redis"), suite.private_redis("abuse-redis-cache", "redis-cache")
    market = f"http://127.0.0.1:{market_port}"
    keys = {"API_KEYS": OTHER_KEY, "ADMIN_API_KEYS": ADMIN_KEY}
    suite.spawn(
        "abuse-market",
        "market",
        f"{market}/health",
        MARKET_PORT=str(market_port),
        NATS_URL=f"nats://127.0.0.1:{nats_port}",
        REDIS_URL=state,
        CACHE_REDIS_URL=cache,
        INGEST_ENABLED="false",
        MISS_ALLOWANCE_PER_MIN_IP="30",
        **DEFAULT_BUDGETS,
        **keys,
    )
    every_service = {f"{name}_URL": market for name in ("MARKET", "NEWS", "SENTIMENT", "AI", "STREAM")}
    suite.spawn(
        "abuse-gateway",
        "gateway",
        f"http://127.0.0.1:{gateway_port}/api/health",
        GATEWAY_PORT=str(gateway_port),
        GATEWAY_METRICS_PORT=str(metrics_port),
        GATEWAY_INTERNAL_PORT=str(internal_port),
        RATE_LIMIT_IP_PER_MIN="100000",
        RATE_LIMIT_KEY_PER_MIN="100000",
        **every_service,
        **keys,
    )
    suite.reset_calls()
    yield Private(f"http://127.0.0.1:{gateway_port}", market, suite)
    for name in ("abuse-gateway", "abuse-market", "abuse-redis", "abuse-redis-cache", "abuse-nats"):
        suite.stop(name)


def test_a_hostile_client_spends_a_few_upstream_calls_and_others_still_get_fresh_answers(private: Private) -> None:
    suite, now = private.suite, now_ms()
    with httpx.Client(base_url=private.gateway, timeout=20) as client:
        trades = [client.get(f"/api/trades/LINKUSDT?limit={limit}") for limit in range(1, 121)]
        assert all(response.status_code == 200 for response in trades)
        assert [len(response.json()["trades"]) for response in trades[:3]] == [1, 2, 3]
        books = [client.get(f"/api/orderbook/LINK-USDT?limit={limit}") for limit in range(1, 101)]
        assert all(response.status_code == 200 for response in books)
        windows = [
            client.get("/api/ohlcv", params={"symbol": "LINK/USDT", "timeframe": "1h", "since": now - hours * HOUR})
            for hours in range(30, 130)
        ]
        assert all(response.status_code == 200 for response in windows)
        whales = [client.get(f"/api/blockchain/whale-alerts?min_value={value}") for value in range(10**6, 10**8, 10**6)]
        assert all(response.status_code == 200 for response in whales)
        addresses = [
            (int(time.time()) // 60, client.get(f"/api/blockchain/transactions/0x{index:040x}"))
            for index in range(1, 91)
        ]
    assert suite.calls("binance", "symbol=LINKUSDT") <= 4  # recent trades, one book, two candle pages
    assert suite.calls("whale-alert") <= 1
    # 30 misses a clock minute: each new address is a miss (the sequence may straddle a minute boundary).
    served = Counter(minute for minute, response in addresses if response.status_code == 200)
    refused = [response for _, response in addresses if response.status_code == 429]
    assert max(served.values()) <= 30 and len(refused) >= 30 and sum(served.values()) + len(refused) == 90
    assert refused[0].json()["error"]["code"] == "RATE_LIMITED" and 1 <= int(refused[0].headers["Retry-After"]) <= 60
    assert suite.calls("etherscan") <= sum(served.values())

    # Cached answers keep coming for the hostile client; another client is untouched.
    again = httpx.get(f"{private.gateway}/api/trades/LINKUSDT?limit=5")
    assert again.status_code == 200 and again.json()["meta"]["cache"] in ("hit", "stale")
    other = {"X-API-Key": OTHER_KEY}
    for path in ("/api/ticker/ETHUSDT", "/api/market?limit=5", "/api/ticker/SOLUSDT"):
        response = httpx.get(private.gateway + path, headers=other, timeout=20)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["meta"]["stale"] is False, path
    providers = httpx.get(f"{private.gateway}/api/providers", headers={"X-API-Key": ADMIN_KEY}).json()["providers"]
    budgets = {row["name"]: row["budget"] for row in providers}
    assert budgets["binance"]["remaining"] > 1000 and budgets["coingecko"]["remaining"] >= 45


def test_thousands_of_distinct_windows_and_big_bodies_leave_memory_bounded(private: Private) -> None:
    before = private.rss_mib("abuse-market")
    now = now_ms()

    async def flood() -> list[int]:
        # A client with its own allowance (the anonymous one spent its misses in the test above).
        headers = {"X-API-Key": OTHER_KEY}
        async with httpx.AsyncClient(base_url=private.gateway, timeout=30, headers=headers) as client:
            statuses = []
            for batch in range(20):
                requests = [
                    client.get(
                        "/api/ohlcv",
                        params={
                            "symbol": "BTC/USDT",
                            "timeframe": "1m",
                            "limit": 1 + (index % 1000),
                            "until": now - (batch * 100 + index) * 60_000,
                        },
                    )
                    for index in range(100)
                ]
                statuses += [response.status_code for response in await asyncio.gather(*requests)]
            return statuses

    statuses = asyncio.run(flood())
    assert statuses == [200] * 2000  # 2,000 distinct windows, served from a few pages
    body = b'{"texts": [' + b"1," * 400_000 + b"1]}"  # 800 KB: under the body limit, wrong in every item
    with httpx.Client(base_url=private.market, timeout=30) as client:
        for _ in range(20):
            response = client.post("/api/ohlcv", content=body, headers={"content-type": "application/json"})
            assert response.status_code in (405, 413, 422)
    after = private.rss_mib("abuse-market")
    assert after < MARKET_RSS_BOUND_MIB, f"market grew from {before:.0f} to {after:.0f} MiB"


MARKET_RSS_BOUND_MIB = 300


def test_analyze_answers_a_huge_wrong_body_briefly_and_stays_bounded(suite: Suite) -> None:
    ai_pid = suite.processes["ai"].pid
    body = b'{"texts": [' + b"1," * 400_000 + b"1]}"
    started = time.monotonic()
    with httpx.Client(base_url=suite.gateway_url, timeout=30) as client:
        responses = [
            client.post("/api/sentiment/analyze", content=body, headers={"content-type": "application/json"})
            for _ in range(10)
        ]
        huge = client.post("/api/sentiment/analyze", content=b"[" + b" " * 2_000_000 + b"]")
    assert [(r.status_code, len(r.content) < 4096) for r in responses] == [(422, True)] * 10
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert time.monotonic() - started < 30
    assert rss_mib(ai_pid) < AI_RSS_BOUND_MIB


AI_RSS_BOUND_MIB = 400


def test_a_websocket_flood_gets_a_few_answers_and_big_frames_and_extra_connections_are_refused(
    suite: Suite,
) -> None:
    stream_port = free_port()
    suite.spawn(
        "abuse-stream",
        "stream",
        f"http://127.0.0.1:{stream_port}/health",
        STREAM_PORT=str(stream_port),
        STREAM_MAX_CONNECTIONS_PER_CLIENT="3",
        STREAM_MAX_CONNECTIONS="5",
    )
    url = f"ws://127.0.0.1:{stream_port}/ws"
    pid = suite.processes["abuse-stream"].pid
    try:
        answers, rss = asyncio.run(_flood(url, pid))
    finally:
        suite.stop("abuse-stream")
    assert answers["errors"] <= 25  # ~2 a second after a burst of 10, for 5 seconds of 1,000 bad frames a second
    assert answers["big_frame_close"] == 1009
    assert answers["fourth_connection_close"] == 4429
    assert answers["replica_full_close"] == 1013
    assert rss < STREAM_RSS_BOUND_MIB


STREAM_RSS_BOUND_MIB = 200


async def _flood(url: str, pid: int) -> tuple[dict[str, int], float]:
    answers: dict[str, int] = {}
    async with websockets.connect(url) as socket:
        await socket.recv()
        for _ in range(50):
            for _ in range(100):
                await socket.send("not json")
            await asyncio.sleep(0.1)
        answers["errors"] = await _count_errors(socket)
    async with websockets.connect(url, max_size=None) as socket:
        await socket.recv()
        await socket.send("x" * (128 * 1024))
        answers["big_frame_close"] = await _close_code(socket)
    held = [await websockets.connect(url) for _ in range(3)]
    try:
        async with websockets.connect(url) as fourth:
            answers["fourth_connection_close"] = await _close_code(fourth)
        forwarded = [
            await websockets.connect(url, additional_headers={"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(2)
        ]
        async with websockets.connect(url, additional_headers={"X-Forwarded-For": "198.51.100.9"}) as sixth:
            answers["replica_full_close"] = await _close_code(sixth)
        for socket in forwarded:
            await socket.close()
    finally:
        for socket in held:
            await socket.close()
    return answers, rss_mib(pid)


async def _count_errors(socket: websockets.ClientConnection) -> int:
    """Error answers until the server falls silent for a second — or, since heartbeats (1 s in the tests) can
    keep it from ever being silent that long, until it closes the connection for idleness."""
    errors = 0
    try:
        while True:
            message = orjson.loads(await asyncio.wait_for(socket.recv(), 1.0))
            errors += message.get("type") == "error"
    except (TimeoutError, websockets.ConnectionClosedOK):
        return errors


async def _close_code(socket: websockets.ClientConnection) -> int:
    try:
        while True:
            await asyncio.wait_for(socket.recv(), 5.0)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else -1


def test_exposing_the_gateway_exposes_nothing_else() -> None:
    from suite_launcher.env import build_env

    env = build_env({"GATEWAY_HOST": "0.0.0.0"}, base={})
    assert env.values["SUITE_HOST"] == "127.0.0.1" and env.values["GATEWAY_METRICS_HOST"] == "127.0.0.1"
    assert env.values["REDIS_URL"].startswith("redis://127.0.0.1:") and "127.0.0.1" in env.values["NATS_URL"]
    assert all(env.url(name).startswith("http://127.0.0.1:") for name in ("market", "news", "stream"))
