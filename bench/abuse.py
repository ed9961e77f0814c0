"""Hostile clients against a running suite: what each trick gets, what it costs the shared upstreams, and
what it does to the services' memory.

    .venv/bin/python bench/abuse.py                 # about four minutes
    .venv/bin/python bench/abuse.py --window 20     # shorter header-trick windows

Starts the real suite (tests/harness.py: NATS, Redis, sandbox, the five services, Traefik on free ports) with
the deployment defaults that matter here — 100 requests/min per IP (burst 20), 1,000 per verified key, 30 cache
misses/min per client, a quarter of each upstream budget per client, the contract's upstream budgets — and the
configured keys `bench-key`, `bench-sequences` and `bench-admin`.

1. Header tricks: each trick comes from its own loopback address (127.0.0.2, .3, …, so each starts with a fresh
   per-IP bucket) and sends requests as fast as it can for `--window` seconds; allowed requests are scaled to a
   minute (`allowed × 60 / window`, which overstates a token bucket's minute by its burst).
2. Cache-busting sequences from one keyed client: the upstream calls each one reached (the sandbox's counter),
   and afterwards another client's uncached ticker.
3. RSS of every service, sampled every 0.2 s during everything: the peak, and the growth from the start.
4. WebSocket: 150 connections from one client to one stream replica, and a flood of bad frames.
5. Unknown-symbol suggestions over 3,000 synthetic asset names (random letters, labelled as such): p50/p99.

Writes bench/results/abuse.json and .md. The load generator runs on the same 2 cores; its CPU is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import string
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_results  # bench/bench_results.py: this script's folder is on sys.path
import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

KEY, SEQUENCES_KEY, ADMIN = "bench-key", "bench-sequences", "bench-admin"
SUITE_ENV = {
    "API_KEYS": f"{KEY},{SEQUENCES_KEY}",
    "ADMIN_API_KEYS": ADMIN,
    "RATE_LIMIT_IP_PER_MIN": "100",
    "RATE_LIMIT_KEY_PER_MIN": "1000",
    "LOG_LEVEL": "warning",
}
PACE_S = 0.065  # under the key's 1,000/min, so the gateway's limit does not hide what the services decide
SERVICES = ("market", "news", "sentiment", "ai", "stream", "gateway")
TRICKS: dict[str, Callable[[int], list[tuple[str, str]]]] = {
    "no key (the per-IP allowance)": lambda n: [],
    "a new invented X-API-Key each request": lambda n: [("X-API-Key", f"invented-{n}")],
    "a new invented Bearer token each request": lambda n: [("Authorization", f"Bearer invented-{n}")],
    "Bearer<TAB>junk": lambda n: [("Authorization", "Bearer\tjunk")],
    "the valid key re-spelled (bearer, BEARER, X-API-Key)": lambda n: [
        [("Authorization", f"bearer {KEY}")],
        [("Authorization", f"BEARER {KEY}")],
        [("X-API-Key", KEY)],
    ][n % 3],
    "the valid key twice (two X-API-Key headers)": lambda n: [("X-API-Key", KEY), ("X-API-Key", KEY)],
    "the valid key (X-API-Key)": lambda n: [("X-API-Key", KEY)],
}


class RssSampler(threading.Thread):
    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.start_mb = pids, {name: rss_mb(pid) for name, pid in pids.items()}
        self.peak_mb = dict(self.start_mb)
        self.running = True

    def run(self) -> None:
        while self.running:
            for name, pid in self.pids.items():
                self.peak_mb[name] = max(self.peak_mb[name], rss_mb(pid))
            time.sleep(0.2)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def tricks(gateway: str, window_s: float) -> dict[str, Any]:
    results = {}
    for index, (name, headers_for) in enumerate(TRICKS.items()):
        address = f"127.0.0.{index + 2}"
        transport = httpx.HTTPTransport(local_address=address)
        statuses: dict[int, int] = {}
        deadline, n = time.monotonic() + window_s, 0
        with httpx.Client(base_url=gateway, transport=transport, timeout=10) as client:
            while time.monotonic() < deadline:
                status = client.get("/api/stats/dominance", headers=headers_for(n)).status_code
                statuses[status] = statuses.get(status, 0) + 1
                n += 1
        allowed = statuses.get(200, 0)
        results[name] = {
            "from": address,
            "requests": n,
            "statuses": statuses,
            "allowed": allowed,
            "allowed_per_min": round(allowed * 60 / window_s),
        }
        print(f"  {name}: {allowed} allowed of {n} in {window_s:.0f} s {statuses}", flush=True)
    return results


def sequences(suite: Any, gateway: str) -> dict[str, Any]:
    now = int(time.time() * 1000)
    runs: dict[str, tuple[str, list[str]]] = {
        "trades limit=1..120": ("binance", [f"/api/trades/LINKUSDT?limit={n}" for n in range(1, 121)]),
        "order book limit=1..100": ("binance", [f"/api/orderbook/LINKUSDT?limit={n}" for n in range(1, 101)]),
        "OHLCV 1h, 100 windows (since)": (
            "binance",
            [f"/api/ohlcv?symbol=LINK/USDT&timeframe=1h&since={now - h * 3_600_000}" for h in range(30, 130)],
        ),
        "history 1d, 60 ranges in the same days": (
            "coingecko",
            [
                f"/api/history/price/LINK?from={now - 30 * 86_400_000 + m * 60_000}&to={now - m * 60_000}"
                for m in range(60)
            ],
        ),
        "whale alerts, 99 thresholds": (
            "whale-alert",
            [f"/api/blockchain/whale-alerts?min_value={v}" for v in range(10**6, 10**8, 10**6)],
        ),
        "90 distinct addresses": (
            "etherscan",
            [f"/api/blockchain/transactions/0x{n:040x}" for n in range(1, 91)],
        ),
    }
    results = {}
    # One keyed client for every sequence (1,000 requests/min, so the gateway's limit does not hide what reaches
    # the service): its misses (300/min) and its share of each budget (a quarter) add up across them.
    headers = {"X-API-Key": SEQUENCES_KEY}  # its own key: the tricks above emptied KEY's bucket
    with httpx.Client(base_url=gateway, headers=headers, timeout=20) as client:
        for name, (upstream, paths) in runs.items():
            suite.reset_calls()
            statuses: dict[str, int] = {}
            for path in paths:
                time.sleep(PACE_S)
                outcome = str(client.get(path).status_code)
                statuses[outcome] = statuses.get(outcome, 0) + 1
            calls = suite.calls(upstream)
            results[name] = {"requests": len(paths), "statuses": statuses, "upstream": upstream, "calls": calls}
            print(f"  {name}: {calls} {upstream} calls for {len(paths)} requests {statuses}", flush=True)
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.60"), timeout=20) as anonymous:
        other = anonymous.get(f"{gateway}/api/ticker/ETHUSDT")
    results["afterwards, another client's ETH ticker"] = {
        "status": other.status_code,
        "stale": other.json().get("meta", {}).get("stale") if other.status_code == 200 else None,
    }
    return results


async def websocket_caps(url: str) -> dict[str, Any]:
    opened, codes = [], {}
    for _ in range(150):
        socket = await websockets.connect(url)
        try:
            await asyncio.wait_for(socket.recv(), 5.0)
            opened.append(socket)
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else -1
            codes[code] = codes.get(code, 0) + 1
    for socket in opened:
        await socket.close()
    answered = 0
    async with websockets.connect(url) as socket:
        await socket.recv()
        for _ in range(50):
            for _ in range(100):
                await socket.send("not json")
            await asyncio.sleep(0.1)
        try:
            while True:
                answered += '"error"' in str(await asyncio.wait_for(socket.recv(), 1.0))
        except TimeoutError:
            pass
    return {
        "connections_tried": 150,
        "opened": len(opened),
        "close_codes": codes,
        "refused_4429": codes.get(4429, 0),
        "bad_frames_sent": 5000,
        "error_answers": answered,
    }


def suggestions() -> dict[str, float]:
    from suite_shared.symbols import suggest

    rng = random.Random(7)
    assets = {"".join(rng.choices(string.ascii_uppercase, k=rng.randint(2, 6))) for _ in range(3000)}
    durations = []
    for _ in range(500):
        probe = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 8)))
        started = time.perf_counter()
        suggest(probe, assets)
        durations.append((time.perf_counter() - started) * 1000)
    durations.sort()
    return {
        "assets": len(assets),
        "p50_ms": round(statistics.median(durations), 3),
        "p99_ms": round(durations[int(len(durations) * 0.99)], 3),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Abuse bench (`bench/abuse.py`)",
        "",
        f"Measured {report['measured_at']} on {report['machine']}. Limits: 100/min per IP (burst 20), 1,000/min "
        "per verified key, 30 cache misses/min per client. The load generator shared the 2 cores "
        f"(it used {report['load_generator_cpu_s']} s of CPU).",
        "",
        "## Requests allowed per IP under each header trick",
        "",
        f"| trick | requests in {report['window_s']} s | allowed | allowed per minute (scaled) | statuses |",
        "|---|---|---|---|---|",
    ]
    for name, row in report["tricks"].items():
        lines.append(
            f"| {name} | {row['requests']} | {row['allowed']} | {row['allowed_per_min']} | {row['statuses']} |"
        )
    lines += [
        "",
        "## Upstream calls spent per cache-busting sequence (one client)",
        "",
        "| sequence | requests | upstream calls | statuses |",
        "|---|---|---|---|",
    ]
    for name, row in report["sequences"].items():
        if "calls" in row:
            lines.append(f"| {name} | {row['requests']} | {row['calls']} ({row['upstream']}) | {row['statuses']} |")
    other = report["sequences"]["afterwards, another client's ETH ticker"]
    lines += [
        "",
        f"Afterwards another client's ETH ticker: HTTP {other['status']}, stale {other['stale']}.",
        "",
        "## RSS per service (MiB)",
        "",
        "| service | start | peak |",
        "|---|---|---|",
    ]
    for name, start in report["rss_mb"]["start"].items():
        lines.append(f"| {name} | {start} | {report['rss_mb']['peak'][name]} |")
    ws = report["websocket"]
    lines += [
        "",
        "## WebSocket",
        "",
        f"{ws['connections_tried']} connections from one client to one stream replica: {ws['opened']} opened, "
        f"{ws['refused_4429']} refused with 4429 (cap {report['ws_cap']}). {ws['bad_frames_sent']} bad frames in "
        f"5 s got {ws['error_answers']} error answers.",
        "",
        "## Unknown-symbol suggestions",
        "",
        f"{report['suggestions']['assets']} synthetic asset names: p50 {report['suggestions']['p50_ms']} ms, "
        f"p99 {report['suggestions']['p99_ms']} ms.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=30.0, help="seconds per header trick")
    args = parser.parse_args()
    from harness import Suite

    suite = Suite.create(Path(tempfile.mkdtemp(prefix="abuse-")), **SUITE_ENV)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        print(f"starting the suite (logs in {suite.run_dir})", flush=True)
        suite.start(["nats", "redis", "redis-cache", "sandbox"])
        suite.start(["market", "news", "sentiment", "ai", "stream"])
        suite.start(["gateway"])
        sampler = RssSampler({name: suite.processes[name].pid for name in SERVICES})
        sampler.start()
        print("header tricks:", flush=True)
        trick_results = tricks(suite.gateway_url, args.window)
        print("cache-busting sequences:", flush=True)
        sequence_results = sequences(suite, suite.gateway_url)
        print("websocket:", flush=True)
        ws_results = asyncio.run(websocket_caps(suite.env.values["STREAM_URL"].replace("http://", "ws://") + "/ws"))
        sampler.running = False
        sampler.join()
    finally:
        suite.stop_all()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    report = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{sys.platform}, Python {sys.version.split()[0]}",
        "window_s": args.window,
        "tricks": trick_results,
        "sequences": sequence_results,
        "rss_mb": {"start": sampler.start_mb, "peak": sampler.peak_mb},
        "websocket": ws_results,
        "ws_cap": 100,
        "suggestions": suggestions(),
        "load_generator_cpu_s": round(cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime, 1),
    }
    bench_results.write("abuse", report, markdown(report))


if __name__ == "__main__":
    main()
