"""The state Redis behind Sentinel: its primary is killed, the services keep answering and the state is intact.

A primary, a replica and three Sentinels (tests/clusters.py) hold the state of private market, news,
sentiment, ai and stream services, which find the primary through `REDIS_URL=redis-sentinel://...` (a
private NATS; the suite's sandbox as upstream; the cache stays a plain Redis). Once the news is in and
scored and a WebSocket session is saved, the news sources are switched off (so nothing new is written to
the figures compared) and the primary is SIGKILLed while clients poll every service.

What "intact" means here, honestly: Redis replicates asynchronously, so a write acknowledged by the primary
in the moment before it dies may not have reached the replica and is lost with it (AOF on the dead primary
does not bring it back: when it returns it resyncs from the new primary). So the test kills the primary
when the replica has acknowledged everything the primary wrote (equal replication offsets), and then
requires every piece of state to be on the new primary: the same news stories with their scores and total,
the same per-asset sentiment, the saved WebSocket session (resumed, not a gap), upstream budget counters
not lower than before (a lower one would let the suite overspend an upstream), and no rebuild from the
NEWS stream (the epoch keys survived: the state itself was kept, not recomputed). What the last moment's
writes can lose in a real failover is bounded by the replication lag; the stories among them come back
from their source at the next poll and the sentiment consumer's counts from the NEWS stream only on a
rebuild — bench/faults.py measures it under load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import redis
from websockets.sync.client import connect

from clusters import SentinelRedis
from harness import Suite, free_port, wait_for

SERVICES = ("ai", "news", "sentiment", "market", "stream")
POLLED = {
    "news": "/api/news/latest?limit=5",
    "sentiment": "/api/sentiment/symbol/BTC",
    "market": "/api/price/BTC",
    "stream": "/health",
}
DEGRADED_BOUND_S = 20.0  # generous for a loaded 2-core machine; the figure measured is printed


@dataclass
class SentinelSuite:
    suite: Suite
    redis: SentinelRedis
    urls: dict[str, str]

    def get(self, service: str, path: str) -> httpx.Response:
        return httpx.get(self.urls[service] + path, timeout=10)


@pytest.fixture(scope="module")
def sentinel(suite: Suite) -> Iterator[SentinelSuite]:
    state = SentinelRedis.start(suite, "rs")
    nats_port = free_port()
    run_dir = suite.run_dir / "rs-nats"
    (run_dir / "nats").mkdir(parents=True, exist_ok=True)
    suite.spawn(
        "rs-nats",
        "nats",
        f"tcp://127.0.0.1:{nats_port}",
        NATS_PORT=str(nats_port),
        NATS_MONITOR_PORT=str(free_port()),
        RUN_DIR=str(run_dir),
    )
    cache = suite.private_redis("rs-redis-cache", "redis-cache")
    shared = {
        "NATS_URL": f"nats://127.0.0.1:{nats_port}",
        "REDIS_URL": state.url,
        "CACHE_REDIS_URL": cache,
        "INGEST_ENABLED": "false",
        # Above the Sentinels' down-after (1 s) plus their failover (2-4 s measured here), as the setting's
        # doc advises, with room for a loaded machine: a request waits out the failover instead of failing.
        "REDIS_RIDE_THROUGH_S": "8",
    }
    ports = {name: free_port() for name in SERVICES}
    for name, port in ports.items():
        suite.spawn(
            f"rs-{name}",
            name,
            f"http://127.0.0.1:{port}/health/live",
            wait=False,
            **{f"{name.upper()}_PORT": str(port)},
            **shared,
        )
    for name in SERVICES:
        suite.wait_ready(f"rs-{name}", 60)
    yield SentinelSuite(suite, state, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()})
    for name in (*(f"rs-{service}" for service in reversed(SERVICES)), "rs-redis-cache", "rs-nats"):
        suite.stop(name)
    for alias in list(suite.processes):
        if alias.startswith("rs-"):
            suite.stop(alias)


@dataclass
class Poller:
    """Polls each service's endpoint in a thread; keeps (time, service, status) of every answer."""

    target: SentinelSuite
    answers: list[tuple[float, str, int, float]] = field(default_factory=list)  # sent at, service, status, took
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=20) as client:
            while not self.stop.is_set():
                for service, path in POLLED.items():
                    sent = time.monotonic()
                    try:
                        status = client.get(self.target.urls[service] + path).status_code
                    except httpx.HTTPError:
                        status = 0  # no answer at all
                    self.answers.append((sent, service, status, time.monotonic() - sent))
                time.sleep(0.1)

    def failures(self) -> list[tuple[float, str, int, float]]:
        return [answer for answer in self.answers if answer[2] != 200]


def news_view(target: SentinelSuite) -> tuple[int, dict[str, Any]]:
    body = target.get("news", "/api/news/latest?limit=100").json()
    return int(body["total"]), {item["id"]: item["sentiment"] for item in body["news"]}


def btc_volume(target: SentinelSuite) -> int:
    return int(target.get("sentiment", "/api/sentiment/symbol/BTC").json()["social_volume"])


def budgets(client: redis.Redis) -> dict[str, int]:
    """The upstream budget counters of the current windows (per-day ones outlive the test)."""
    return {key.decode(): int(client.get(key) or 0) for key in client.scan_iter("budget:*") if b":client:" not in key}


def saved_session(target: SentinelSuite) -> str:
    """A WebSocket session subscribed to trades, closed by the client: saved in the state Redis for resume."""
    with connect(target.urls["stream"].replace("http://", "ws://") + "/ws", open_timeout=10) as socket:
        session = orjson.loads(socket.recv(10))["session"]
        socket.send(orjson.dumps({"action": "subscribe", "channel": "trades", "symbols": ["BTC/USDT"]}))
        while orjson.loads(socket.recv(10)).get("type") != "subscribed":
            pass
    return str(session)


def resume(target: SentinelSuite, session: str) -> dict[str, Any]:
    with connect(target.urls["stream"].replace("http://", "ws://") + "/ws", open_timeout=10) as socket:
        socket.recv(10)  # the connection message
        socket.send(orjson.dumps({"action": "resume", "session": session, "last_seq": 1}))
        while True:
            frame = orjson.loads(socket.recv(10))
            if frame.get("type") in ("resumed", "gap"):
                return dict(frame)


def test_a_killed_redis_primary_is_replaced_the_services_keep_answering_and_state_is_intact(
    sentinel: SentinelSuite, sandbox: Suite
) -> None:
    state = sentinel.redis

    def settled() -> bool:
        _, news = news_view(sentinel)
        with state.client(state.alias_of(state.primary_port() or 0)) as client:
            return (
                len(news) >= 10
                and all(news.values())
                and client.zcard("news:unscored") == 0
                and client.zcard("news:outbox") == 0
                and btc_volume(sentinel) > 0
                and client.exists("news:epoch", "sentiment:epoch") == 2  # both start-up rebuilds done
            )

    wait_for(settled, timeout_s=90)
    for source in ("rss", "cryptopanic", "newsapi"):
        sandbox.set_fault(source, "status", status=503)
    session = saved_session(sentinel)
    time.sleep(2)  # the last acks of the sentiment consumer, the last poll before the fault
    before_total, before_news = news_view(sentinel)
    before_btc = btc_volume(sentinel)
    old_port = state.primary_port()
    assert old_port is not None
    with state.client(state.alias_of(old_port)) as client:
        before_budgets = budgets(client)
        assert client.exists("news:epoch", "sentiment:epoch") == 2
    wait_for(state.in_sync, timeout_s=10, every_s=0.05)

    poller = Poller(sentinel)
    polling = threading.Thread(target=poller.run, daemon=True)
    polling.start()
    time.sleep(2)
    killed_at = time.monotonic()
    killed = state.kill_primary()
    failover_s = state.wait_failover(old_port)

    def answering() -> bool:
        recent = [answer for answer in poller.answers if answer[0] > time.monotonic() - 1.5]
        return len({answer[1] for answer in recent}) == len(POLLED) and all(answer[2] == 200 for answer in recent)

    wait_for(answering, timeout_s=DEGRADED_BOUND_S)
    time.sleep(3)
    poller.stop.set()
    polling.join(30)

    after_kill = [answer for answer in poller.answers if answer[0] >= killed_at - 1]
    slowest = {service: max(took for _, name, _, took in after_kill if name == service) for service in POLLED}
    failures = poller.failures()
    print(
        f"killed the primary ({killed}): Sentinel promoted the replica in {failover_s:.1f} s; "
        f"{len(failures)} of {len(poller.answers)} polls failed; the slowest answer per service after the kill "
        + ", ".join(f"{service} {took:.1f} s" for service, took in slowest.items())
    )
    # Every poll answered 200: the requests caught in the failover waited for it (REDIS_RIDE_THROUGH_S).
    assert failures == []
    assert max(slowest.values()) <= DEGRADED_BOUND_S

    # State intact on the new primary.
    total, news = news_view(sentinel)
    assert total == before_total and news == before_news
    assert btc_volume(sentinel) == before_btc
    new_primary = state.alias_of(state.primary_port() or 0)
    assert new_primary != killed
    with state.client(new_primary) as client:
        assert client.exists("news:epoch", "sentiment:epoch") == 2  # kept, not rebuilt
        after = budgets(client)
    # Every budget window counted before is there and not lower (keys live two windows: none expired yet).
    assert before_budgets and all(after.get(key, 0) >= value for key, value in before_budgets.items())
    resumed = resume(sentinel, session)
    assert resumed["type"] == "resumed", resumed
    for name in SERVICES:
        health = sentinel.get(name, "/health").json()
        assert health["dependencies"]["redis"]["status"] == "up", (name, health["dependencies"]["redis"])

    # The killed primary comes back as a replica of the new one (Sentinel reconfigures it).
    state.suite.restart(killed)
    wait_for(lambda: state.client(killed).info("replication").get("role") == "slave", timeout_s=30)
