"""Fault matrix: the suite under steady client load, one fault at a time, with what clients saw and what was lost.

    .venv/bin/python bench/faults.py                 # every fault (~4 min)
    .venv/bin/python bench/faults.py --only nats_node_kill,gateway_restart --keep-log /tmp/load.jsonl

Starts its own suite (tests/harness.py, tests/clusters.py) as a small production would run it: a 3-node NATS
cluster (`NATS_REPLICAS=3`), the state Redis as a primary, a replica and three Sentinels (services reach it by
`redis-sentinel://`), the cache Redis, the sandbox as upstream, two market replicas (one ingests, under the
lease), two stream replicas, news, sentiment and ai, and Traefik in front with both replicas of market and
stream. A load generator in its own process (bench/fault_load.py) polls REST through the gateway and keeps
WebSocket subscribers on `trades`, resuming their sessions when a connection is lost.

Each fault: wait until the suite is nominal, snapshot the state (news stories, scores, sentiment entries,
budget counters), inject, wait until clients see no more trouble, snapshot again, then repair what the fault
broke (restart the killed process) before the next. Recorded per fault:
- client-visible errors: REST answers other than 200 (count, % of the requests sent from injection to the end
  of the window, by status and error code) and WebSocket reconnects, `gap` frames, `seq` holes;
- time to recover: from the injection (for the timed provider outage: from its end) to the last thing a
  client saw go wrong (an error, an answer slower than 1 s, a reconnect, a gap, or the end of the longest
  silence on `trades`);
- data lost: stories, scores and sentiment entries present before and missing after (not counting those aged
  out of the 7-day window meanwhile); budget counters lower after than before; trades the MARKET stream holds
  that a client never received without a gap frame saying so (silent), or with one (explicit); trades the
  exchange sent that never reached the stream (ids missing in the stream: not ingested).

Writes bench/results/faults.json and faults.md; prints progress; reports the load generator's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_results  # bench/bench_results.py: this script's folder is on sys.path
import fault_load
import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from clusters import NatsCluster, SentinelRedis  # noqa: E402
from harness import TEST_ENV, Suite, _port_open, free_port  # noqa: E402
from suite_shared.bus import Bus  # noqa: E402
from suite_shared.messages.market import TradeEvent  # noqa: E402
from suite_shared.topics import MARKET_STREAM, MARKET_TRADE  # noqa: E402

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
ASSETS = ["BTC", "ETH", "SOL"]
REST_PATHS = [
    "/api/price/BTC",
    "/api/market?limit=10",
    "/api/ohlcv?symbol=BTC/USDT&timeframe=1h&limit=24",
    "/api/news/latest?limit=10",
    "/api/sentiment/symbol/BTC",
    "/api/ai/signals?symbol=BTC/USDT&timeframe=1h&limit=1",
    "/api/orderbook/BTC/USDT?limit=5",
]
SUITE_ENV = {
    **{name: value for name, value in TEST_ENV.items() if name != "BREAKER_FAILURES"},  # production breakers
    "INGEST_SYMBOLS": ",".join(PAIRS),
    "NATS_REPLICAS": "3",
    "STREAM_RESUME_WINDOW_S": "600",  # MARKET keeps a whole fault's trades, to be read back and compared
    "STREAM_IDLE_TIMEOUT_S": "60",
    # Above the Sentinels' down-after (3 s here) plus their failover, as the setting's doc advises.
    "REDIS_RIDE_THROUGH_S": "8",
    "LOG_LEVEL": "warning",
}
SENTINEL_DOWN_AFTER_MS = 3000  # a restart (well under 3 s) is a restart, not a failover
PRE_S, POST_S = 5.0, 8.0  # load before the fault, and after recovery, inside its window
QUIET_S = 5.0  # recovered: this long with no error, reconnect or gap, and trades at every client
SLOW_MS = 1000.0  # a REST answer slower than this counts as trouble too (degraded, not down)
RECOVERY_LIMIT_S = 120.0
PROVIDER_OUTAGE_S = 60.0
RETENTION_MS = 7 * 86_400_000  # news and sentiment keep 7 days: entries older than that may go meanwhile


# -- the suite ---------------------------------------------------------------------------------------------

REPLICAS = {  # alias → (Procfile process, its port variable)
    "market-1": ("market", "MARKET_PORT"),
    "market-2": ("market", "MARKET_PORT"),
    "stream-1": ("stream", "STREAM_PORT"),
    "stream-2": ("stream", "STREAM_PORT"),
    "news": ("news", "NEWS_PORT"),
    "sentiment": ("sentiment", "SENTIMENT_PORT"),
    "ai": ("ai", "AI_PORT"),
}


@dataclass
class Bench:
    suite: Suite
    nats: NatsCluster
    state: SentinelRedis
    urls: dict[str, str]  # replica alias → base URL
    log_path: Path
    loadgen: multiprocessing.Process | None = None
    offset: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, run_dir: Path) -> Bench:
        suite = Suite.create(run_dir, **SUITE_ENV)
        try:
            return cls._start(suite, run_dir)
        except BaseException:
            for name in list(suite.processes):
                print(f"--- {name} ---\n{suite.logs(name, 20)}")
            suite.stop_all()
            raise

    @classmethod
    def _start(cls, suite: Suite, run_dir: Path) -> Bench:
        print("starting a 3-node NATS cluster, Redis with Sentinel, the cache Redis and the sandbox ...", flush=True)
        nats = NatsCluster.start(suite, "nats")
        state = SentinelRedis.start(suite, "state", down_after_ms=SENTINEL_DOWN_AFTER_MS)
        ports = {alias: free_port() for alias in REPLICAS}
        urls = {alias: f"http://127.0.0.1:{port}" for alias, port in ports.items()}
        values = suite.env.values
        values.update(NATS_URL=nats.url, REDIS_URL=state.url)
        for name in ("market", "stream", "news", "sentiment", "ai"):  # the gateway's pools: every replica
            values[f"{name.upper()}_URL"] = ",".join(url for alias, url in urls.items() if alias.startswith(name))
        suite.start(["redis-cache", "sandbox"])
        print("starting 2 market, 2 stream, news, sentiment, ai and the gateway ...", flush=True)
        for alias, (process, variable) in REPLICAS.items():
            suite.spawn(alias, process, f"{urls[alias]}/health/live", wait=False, **{variable: str(ports[alias])})
        for alias in REPLICAS:
            suite.wait_ready(alias, 90)
        suite.start(["gateway"])
        return cls(suite, nats, state, urls, run_dir / "load.jsonl")

    def start_load(self) -> None:
        self.log_path.touch()
        self.loadgen = multiprocessing.get_context("spawn").Process(
            target=fault_load.run, args=(self.suite.gateway_url, REST_PATHS, PAIRS, str(self.log_path)), daemon=True
        )
        self.loadgen.start()

    def read_log(self) -> list[dict[str, Any]]:
        """Every log record so far (new ones are appended to `records`)."""
        fresh, self.offset = fault_load.read(self.log_path, self.offset)
        self.records.extend(fresh)
        return self.records

    def stop(self) -> None:
        if self.loadgen is not None and self.loadgen.pid is not None:
            os.kill(self.loadgen.pid, signal.SIGTERM)
            self.loadgen.join(10)
        self.suite.stop_all()

    # -- looking at it ---------------------------------------------------------------------------------------

    def health(self, alias: str) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.urls[alias]}/health", timeout=3)
            return dict(response.json()) if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def ingest_leaders(self) -> list[str]:
        leaders = []
        for alias in ("market-1", "market-2"):
            health = self.health(alias) if alias in self.suite.processes else None
            if health and health["dependencies"]["ingest"]["detail"].get("state") == "leader":
                leaders.append(alias)
        return leaders

    def primary(self) -> redis.Redis:
        port = self.state.primary_port()
        assert port is not None, "no Redis primary known to the Sentinels"
        return redis.Redis(port=port, socket_timeout=5)

    def nominal(self) -> list[str]:
        """What is not as it should be before a fault (empty: nominal)."""
        problems = [alias for alias in REPLICAS if self.health(alias) is None]
        if len(self.ingest_leaders()) != 1:
            problems.append(f"ingest leaders {self.ingest_leaders()}")
        if len(self.nats.running()) != len(self.nats.nodes):
            problems.append("a NATS node is down")
        if not self.state._replicated():
            problems.append("Redis replica not linked")
        problems += self.client_trouble(time.time() - QUIET_S)
        return problems

    def client_trouble(self, since: float) -> list[str]:
        """What clients saw go wrong since `since` (REST errors, reconnects, gaps), and clients without trades."""
        records = [record for record in self.read_log() if record["t"] >= since]
        trouble = [
            f"{r['path']} {r['status']}"
            for r in records
            if r["k"] == "rest" and (r["status"] != 200 or r["ms"] > SLOW_MS)
        ]
        trouble += [r["k"] for r in records if r["k"] in ("gap", "closed", "seq_hole")]
        fed = {r["c"] for r in records if r["k"] == "trade"}
        trouble += [f"client {index} got no trade" for index in range(fault_load.WS_CLIENTS) if index not in fed]
        if not any(r["k"] == "rest" for r in records):
            trouble.append("no REST answer")
        return trouble


# -- state snapshots ---------------------------------------------------------------------------------------


def snapshot(bench: Bench) -> dict[str, Any]:
    """The state that must survive a fault: ids with their times, and the budget counters."""
    with bench.primary() as client:
        news = {key.decode(): score for key, score in client.zrange("news:time", 0, -1, withscores=True)}
        scored = {key.decode() for key in client.hkeys("news:scores")}
        sentiment = {key.decode(): score for key, score in client.zrange("sentiment:when", 0, -1, withscores=True)}
        budgets = {
            key.decode(): (int(client.get(key) or 0), budget_expiry(client, key))
            for key in client.scan_iter("budget:*")
            if b":client:" not in key
        }
    volumes = {}
    for asset in ASSETS:
        response = httpx.get(f"{bench.urls['sentiment']}/api/sentiment/symbol/{asset}", timeout=10)
        volumes[asset] = response.json().get("social_volume") if response.status_code == 200 else None
    return {
        "news": news,
        "scored": scored,
        "sentiment": sentiment,
        "budgets": budgets,
        "volumes": volumes,
        "at": time.time(),
    }


def budget_expiry(client: redis.Redis, key: bytes) -> float:
    """When a budget counter expires by itself (epoch s): its window is over (inf: no TTL)."""
    ttl_ms = int(client.pttl(key))
    return time.time() + ttl_ms / 1000 if ttl_ms >= 0 else float("inf")


def budget_counters_lower(before: dict[str, Any], after: dict[str, Any], at: float) -> int:
    """Counters lower after than before, not counting those whose window ended meanwhile (expired: not lost)."""
    lower = 0
    for key, (value, expires) in before.items():
        now_value = after.get(key, (0, 0.0))[0]
        if now_value < value and not (key not in after and expires <= at):
            lower += 1
    return lower


def state_lost(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What was there before and is gone after, not counting what aged out of the 7-day window."""
    cutoff = time.time() * 1000 - RETENTION_MS
    kept = {name: {key for key, at in before[name].items() if at > cutoff} for name in ("news", "sentiment")}
    return {
        "news_items": len(kept["news"] - set(after["news"])),
        "scores": len({key for key in before["scored"] if key in kept["news"]} - after["scored"]),
        "sentiment_entries": len(kept["sentiment"] - set(after["sentiment"])),
        "budget_counters_lower": budget_counters_lower(before["budgets"], after["budgets"], after["at"]),
        "news_items_before": len(before["news"]),
        "sentiment_volume_before": before["volumes"],
        "sentiment_volume_after": after["volumes"],
    }


# -- trades: what the stream holds against what clients received -----------------------------------------


async def stored_trades(bench: Bench, since_ms: int, until_ms: int) -> dict[str, list[int]]:
    """Trade ids per pair the MARKET stream holds with an exchange time in [since, until), in stream order."""
    bus = Bus(bench.nats.url, "fault-bench")
    bus.start()
    await bus.wait_connected(10)
    stored: dict[str, list[int]] = defaultdict(list)
    try:
        async for record in bus.replay(MARKET_STREAM, [MARKET_TRADE.pattern], 1):
            trade = TradeEvent.model_validate_json(record.data)
            if since_ms <= trade.timestamp < until_ms:
                stored[trade.symbol].append(int(trade.id))
    finally:
        await bus.close()
    return stored


def trade_losses(records: list[dict[str, Any]], stored: dict[str, list[int]], gap_since: float) -> dict[str, int]:
    """Per the stream's trades of the window: never received by a client (silent, or after a gap frame that
    said so: explicit); ids missing from the stream itself (not ingested); ids stored twice."""
    received: dict[tuple[int, str], set[int]] = defaultdict(set)
    for record in records:
        if record["k"] == "trade":
            received[(record["c"], record["pair"])].add(int(record["id"]))
    gapped = {record["c"] for record in records if record["k"] == "gap" and record["t"] >= gap_since}
    silent = explicit = 0
    for client in range(fault_load.WS_CLIENTS):
        for pair, ids in stored.items():
            missing = len(set(ids) - received[(client, pair)])
            if client in gapped:
                explicit += missing
            else:
                silent += missing
    not_ingested = sum(max(ids) - min(ids) + 1 - len(set(ids)) for ids in stored.values() if ids)
    duplicates = sum(len(ids) - len(set(ids)) for ids in stored.values())
    stored_count = sum(len(set(ids)) for ids in stored.values())
    return {
        "stored": stored_count,
        "silent": silent,
        "explicit": explicit,
        "not_ingested": not_ingested,
        "duplicates": duplicates,
    }


# -- what clients saw ----------------------------------------------------------------------------------------


def client_view(records: list[dict[str, Any]], injected: float, end: float) -> dict[str, Any]:
    window = [record for record in records if injected <= record["t"] < end]
    rest = [record for record in window if record["k"] == "rest"]
    errors = [record for record in rest if record["status"] != 200]
    by_status = Counter(f"{record['status']} {record['error']}".strip() for record in errors)
    by_path = Counter(record["path"] for record in errors)
    latencies = sorted(record["ms"] for record in rest)
    return {
        "requests": len(rest),
        "errors": len(errors),
        "error_pct": round(100 * len(errors) / len(rest), 2) if rest else None,
        "errors_by_status": dict(by_status),
        "errors_by_path": dict(by_path),
        # the first errors: sent when (s after the injection), what, and how long the answer took
        "error_detail": [
            [round(r["t"] - injected, 2), r["path"], r["status"], r["error"], r["ms"]] for r in errors[:30]
        ],
        "latency_ms_p50_max": [latencies[len(latencies) // 2], latencies[-1]] if latencies else None,
        "ws_reconnects": sum(1 for record in window if record["k"] == "connect"),
        "ws_gaps": dict(Counter(str(record["reason"]) for record in window if record["k"] == "gap")),
        "ws_seq_holes": sum(1 for record in window if record["k"] == "seq_hole"),
        "ws_longest_silence_s": round(longest_silence(records, injected, end), 1),
    }


def longest_silence(records: list[dict[str, Any]], start: float, end: float) -> float:
    """The longest time any client went without a trade between `start` and `end`."""
    worst = 0.0
    for client in range(fault_load.WS_CLIENTS):
        stamps = [start, *(r["t"] for r in records if r["k"] == "trade" and r["c"] == client and start < r["t"] < end)]
        stamps.append(end)
        worst = max(worst, *(b - a for a, b in itertools.pairwise(stamps)))
    return worst


def last_trouble(records: list[dict[str, Any]], since: float, end: float) -> float:
    """When clients last saw something go wrong after `since`: an error or an answer slower than SLOW_MS
    (its end), a reconnect, a gap, or a silence on trades longer than 3 s ending then (`since` if nothing)."""
    last = since
    for record in records:
        if not since <= record["t"] < end:
            continue
        bad_rest = record["k"] == "rest" and (record["status"] != 200 or record["ms"] > SLOW_MS)
        if bad_rest or record["k"] in ("gap", "connect", "closed", "seq_hole"):
            last = max(last, record["t"] + (record.get("ms", 0) / 1000 if bad_rest else 0))
    for client in range(fault_load.WS_CLIENTS):
        stamps = [r["t"] for r in records if r["k"] == "trade" and r["c"] == client and since - 3 < r["t"] < end]
        for a, b in itertools.pairwise(stamps):
            if b - a > 3.0 and b > since:
                last = max(last, b)
    return last


# -- faults --------------------------------------------------------------------------------------------------


@dataclass
class Fault:
    name: str
    title: str
    inject: Callable[[Bench], dict[str, Any]]  # does it; returns what it hit
    restore: Callable[[Bench, dict[str, Any]], None] = lambda bench, hit: None  # repairs it afterwards
    outage_s: float = 0.0  # a timed outage: `clear` ends it after this long
    clear: Callable[[Bench], None] = lambda bench: None


def provider_down(bench: Bench) -> dict[str, Any]:
    bench.suite.set_fault("coingecko", "status", status=503)
    return {"upstream": "coingecko (first in the market list, global stats and history chains)", "status": 503}


def redis_restart(bench: Bench) -> dict[str, Any]:
    port = bench.state.primary_port()
    assert port is not None
    alias = bench.state.alias_of(port)
    started = time.monotonic()
    bench.suite.restart(alias)  # SIGTERM (AOF fsync'd), then the same command: AOF reloaded
    return {"restarted": alias, "down_s": round(time.monotonic() - started, 2)}


def redis_primary_kill(bench: Bench) -> dict[str, Any]:
    port = bench.state.primary_port()
    assert port is not None
    killed = bench.state.kill_primary()
    return {"killed": killed, "failover_s": round(bench.state.wait_failover(port, 60), 2)}


def restart_redis(bench: Bench, hit: dict[str, Any]) -> None:
    bench.suite.restart(hit["killed"])  # back as a replica of the new primary (Sentinel reconfigures it)


def nats_node_kill(bench: Bench) -> dict[str, Any]:
    leader = bench.ingest_leaders()[0]
    node = bench.nats.node_of(bench.suite.processes[leader].pid) or bench.nats.nodes[0]
    hit = {
        "killed": node.name,
        "ingest_leader_on_it": leader,
        "stream_replicas_on_it": [
            alias for alias in ("stream-1", "stream-2") if bench.nats.node_of(bench.suite.processes[alias].pid) is node
        ],
        "market_stream_leader": bench.nats.stream_leader(MARKET_STREAM),
    }
    bench.nats.kill(node)
    return hit


def restart_nats(bench: Bench, hit: dict[str, Any]) -> None:
    bench.nats.restart(next(node for node in bench.nats.nodes if node.name == hit["killed"]))


def market_replica_kill(bench: Bench) -> dict[str, Any]:
    leader = bench.ingest_leaders()[0]
    bench.suite.stop(leader, signal.SIGKILL)  # the ingest leader: its lease is not released
    started = time.monotonic()
    while not bench.ingest_leaders() and time.monotonic() - started < 60:
        time.sleep(0.5)
    return {"killed": leader, "new_leader": bench.ingest_leaders(), "takeover_s": round(time.monotonic() - started, 1)}


def stream_replica_kill(bench: Bench) -> dict[str, Any]:
    bench.suite.stop("stream-1", signal.SIGKILL)
    return {"killed": "stream-1"}


def restart_killed(bench: Bench, hit: dict[str, Any]) -> None:
    bench.suite.restart(hit["killed"], wait=True)


def gateway_restart(bench: Bench) -> dict[str, Any]:
    """SIGTERM, then the same command; the stop (Traefik's grace) and the start (the launcher, then Traefik
    until its routes are loaded) timed apart."""
    started = time.monotonic()
    bench.suite.stop("gateway")
    stopped = time.monotonic()
    bench.suite.start(["gateway"], wait=False)
    listening = None
    while not bench.suite._gateway_routes_loaded():
        if listening is None and _port_open(int(bench.suite.env.values["GATEWAY_PORT"])):
            listening = time.monotonic()
        time.sleep(0.02)
    ready = time.monotonic()
    return {
        "restarted": "gateway",
        "stop_s": round(stopped - started, 2),
        "start_to_listening_s": round((listening or ready) - stopped, 2),
        "listening_to_routes_s": round(ready - (listening or ready), 2),
        "down_s": round(ready - started, 2),
    }


FAULTS = [
    Fault(
        "provider_down",
        f"primary provider (CoinGecko) down {PROVIDER_OUTAGE_S:.0f} s",
        provider_down,
        outage_s=PROVIDER_OUTAGE_S,
        clear=lambda bench: bench.suite.clear_faults(),
    ),
    Fault("redis_restart", "state Redis primary restarted (SIGTERM, started again)", redis_restart),
    Fault(
        "redis_primary_kill",
        "state Redis primary killed (SIGKILL; Sentinel failover)",
        redis_primary_kill,
        restart_redis,
    ),
    Fault("nats_node_kill", "NATS node killed (the ingest leader's; SIGKILL)", nats_node_kill, restart_nats),
    Fault(
        "market_replica_kill",
        "one of two market replicas killed (the ingest leader; SIGKILL)",
        market_replica_kill,
        restart_killed,
    ),
    Fault("stream_replica_kill", "one of two stream replicas killed (SIGKILL)", stream_replica_kill, restart_killed),
    Fault("gateway_restart", "gateway restarted (SIGTERM, started again)", gateway_restart),
]


def wait_nominal(bench: Bench) -> list[str]:
    deadline = time.monotonic() + RECOVERY_LIMIT_S
    while True:
        problems = bench.nominal()
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(1.0)


def wait_quiet(bench: Bench, since: float) -> float:
    """Wait until clients have seen no trouble for QUIET_S; when the trouble ended (or the limit)."""
    deadline = since + RECOVERY_LIMIT_S
    while time.time() < deadline:
        time.sleep(1.0)
        # A stretch starting before the injection would be quiet by the load before it.
        if time.time() - QUIET_S >= since and not bench.client_trouble(time.time() - QUIET_S):
            break
    return last_trouble(bench.read_log(), since, time.time())


def run_fault(bench: Bench, fault: Fault) -> dict[str, Any]:
    print(f"\n== {fault.title}", flush=True)
    problems = wait_nominal(bench)
    if problems:
        print(f"   not nominal before the fault: {problems[:5]}", flush=True)
    before = snapshot(bench)
    window_start = time.time()
    time.sleep(PRE_S)
    injected = time.time()
    hit = fault.inject(bench)
    print(f"   injected: {hit}", flush=True)
    cleared = injected
    if fault.outage_s:
        time.sleep(max(0.0, injected + fault.outage_s - time.time()))
        fault.clear(bench)
        cleared = time.time()
        print(f"   cleared after {cleared - injected:.0f} s", flush=True)
    recovered = wait_quiet(bench, injected)
    time.sleep(POST_S)
    window_end = time.time()
    after = snapshot(bench)
    fault.restore(bench, hit)
    records = bench.read_log()
    stored = asyncio.run(stored_trades(bench, int(window_start * 1000), int((window_end - 3) * 1000)))
    row = {
        "fault": fault.name,
        "title": fault.title,
        "hit": hit,
        "not_nominal_before": problems,
        "window_s": round(window_end - window_start, 1),
        "outage_s": round(cleared - injected, 1),
        "recovered_s": round(max(0.0, recovered - cleared), 1),
        "clients": client_view(records, injected, window_end),
        "lost": state_lost(before, after),
        "trades": trade_losses(records, stored, window_start),
        "ingest_leaders_after": bench.ingest_leaders(),
    }
    print(f"   {summary_line(row)}", flush=True)
    return row


def summary_line(row: dict[str, Any]) -> str:
    clients, lost, trades = row["clients"], row["lost"], row["trades"]
    return (
        f"errors {clients['errors']}/{clients['requests']} {clients['errors_by_status']}; "
        f"ws reconnects {clients['ws_reconnects']}, gaps {clients['ws_gaps']}, seq holes {clients['ws_seq_holes']}, "
        f"longest silence {clients['ws_longest_silence_s']} s; recovered in {row['recovered_s']} s; lost: "
        f"news {lost['news_items']}, scores {lost['scores']}, sentiment {lost['sentiment_entries']}, "
        f"budgets lower {lost['budget_counters_lower']}; trades silent {trades['silent']}, explicit "
        f"{trades['explicit']}, not ingested {trades['not_ingested']}, duplicates {trades['duplicates']}"
    )


# -- report ----------------------------------------------------------------------------------------------


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Fault matrix (`bench/faults.py`)",
        "",
        f"Run {report['date']} on {report['machine']}; steady load through the gateway: "
        f"{fault_load.REST_PER_S} REST GETs/s over {len(REST_PATHS)} endpoints and {fault_load.WS_CLIENTS} WebSocket "
        f"clients on `trades` of {', '.join(PAIRS)} (9 trades/s from the sandbox's exchange). "
        f"Load generator CPU: {report['load_generator_cpu_cores']:.3f} cores "
        f"({report['load_generator_cpu_s']:.1f} s over {report['duration_s']:.0f} s).",
        "",
        "| fault | REST errors (of requests) | slowest REST answer | WS reconnects / gaps / seq holes | "
        "longest WS silence | recovered | lost: news / scores / sentiment / budgets lower | "
        "trades: silent / explicit gap / not ingested |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["faults"]:
        clients, lost, trades = row["clients"], row["lost"], row["trades"]
        statuses = ", ".join(f"{count}× {status}" for status, count in clients["errors_by_status"].items())
        gaps = sum(clients["ws_gaps"].values())
        slowest = f"{clients['latency_ms_p50_max'][1] / 1000:.1f} s" if clients["latency_ms_p50_max"] else "-"
        lines.append(
            f"| {row['title']} | {clients['errors']} ({clients['error_pct']} %){': ' + statuses if statuses else ''}"
            f" of {clients['requests']} | {slowest} | "
            f"{clients['ws_reconnects']} / {gaps} / {clients['ws_seq_holes']} | "
            f"{clients['ws_longest_silence_s']} s | {row['recovered_s']} s | {lost['news_items']} / {lost['scores']} / "
            f"{lost['sentiment_entries']} / {lost['budget_counters_lower']} | {trades['silent']} / "
            f"{trades['explicit']} / {trades['not_ingested']} (of {trades['stored']} stored) |"
        )
    lines += [
        "",
        "Why each client-visible error and each non-zero figure happens: README.md, section *Fault matrix*.",
        "",
        "What each fault hit; its errors (s after the injection, endpoint, status, code, answer time in ms):",
        "",
    ]
    for row in report["faults"]:
        detail = "; ".join(
            f"{at} s {path} {status} {error} {ms:.0f} ms"
            for at, path, status, error, ms in row["clients"]["error_detail"]
        )
        lines.append(f"- **{row['fault']}**: {row['hit']}{'. Errors: ' + detail if detail else ''}")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    logging.getLogger("suite_shared.bus").setLevel(logging.ERROR)  # the read-back client's own reconnect notes
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated fault names: " + ", ".join(f.name for f in FAULTS))
    parser.add_argument("--keep-log", type=Path, help="copy the load generator's JSON-lines log here at the end")
    args = parser.parse_args()
    chosen = [fault for fault in FAULTS if not args.only or fault.name in args.only.split(",")]
    started = time.time()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        bench = Bench.start(Path(tmp))
        try:
            bench.start_load()
            assert bench.loadgen is not None and bench.loadgen.pid is not None
            cpu0 = process_cpu_s(bench.loadgen.pid)
            for fault in chosen:
                rows.append(run_fault(bench, fault))
            load_cpu = process_cpu_s(bench.loadgen.pid) - cpu0
        except BaseException:
            for name in list(bench.suite.processes):
                print(f"--- {name} ---\n{bench.suite.logs(name, 20)}")
            raise
        finally:
            bench.stop()
            if args.keep_log:
                shutil.copyfile(bench.log_path, args.keep_log)
    duration = time.time() - started
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores",
        "duration_s": round(duration, 1),
        "load_generator_cpu_s": round(load_cpu, 2),
        "load_generator_cpu_cores": round(load_cpu / duration, 4),
        "rest_paths": REST_PATHS,
        "pairs": PAIRS,
        "faults": rows,
    }
    bench_results.write("faults", report, markdown(report))


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
