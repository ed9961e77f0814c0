"""REST throughput: cached answers against a static handler, directly and through the gateway, before and after.

    .venv/bin/python bench/rest_throughput.py                   # main (before), then this checkout (after)
    .venv/bin/python bench/rest_throughput.py --baseline none   # this checkout only
    .venv/bin/python bench/rest_throughput.py --duration 5 --targets price ticker
    .venv/bin/python bench/rest_throughput.py --baseline none --extra "no response cache:RESPONSE_CACHE_ENABLED=false"
    .venv/bin/python bench/rest_throughput.py --render           # rewrite the .md from the last .json

For each tree (`--baseline REF`, default main, exported with `git archive` and run from its own sources via
PYTHONPATH; then this checkout) the bench starts the real suite in sandbox mode (tests/harness.py: NATS,
both Redis roles, sandbox, the five services on free ports), a static FastAPI handler (bench/static_handler.py) and
Traefik with the tree's own gateway/dynamic files plus one bench-only file written to a temporary
directory: a route from the routing hop to the static handler (`/bench/static`, so it passes exactly the
production chain: public router, its middlewares, the routing hop) and three variants on the public
entrypoint that price parts of the chain (no middleware; the public chain without the routing hop; the
public chain without the buffering middleware). The production chain is priced twice: anonymous, and as a
keyed client (`X-API-Key`: the keyed router, its ForwardAuth key check and key limit). Production
configuration has none of these routes.

Load comes from wrk (Debian package `wrk`; installed with apt-get when missing and the bench runs as root):
2 threads, 100 connections for `--duration` seconds per target, after a short warm-up; 1 connection for the
per-request latency; 1,000 connections through the gateway for timeouts (wrk's 2 s request timeout). Every
cached endpoint is loaded directly (its service's port) and through the gateway. The static handler is
measured at the start and again at the end of each tree's run; ratios use the mean of the two, and the
difference between them is reported as the drift over the run.

Inbound limits, cache-miss allowances and upstream budgets are raised (every request comes from one
address; what is measured is the cost of an answer, not the limits): at the production defaults one address
gets 100 requests a minute anonymously and 1,000 with a key, so an unraised run would measure the limiter's
429s. Every run records its non-2xx answers and timeouts, so a limit or a stall shows. Cache TTLs are the contract's, so
short-lived keys (books 2 s, prices 5 s) are refetched during a run, as in production, once per TTL.

Recorded per run: requests/s, p50/p90/p99/max latency, errors and timeouts, non-2xx answers, the CPU
seconds of every suite process, of Traefik and of wrk itself over the window, the machine's busy fraction
and the load average. Writes bench/results/rest_throughput.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bench_results  # bench/bench_results.py: this script's folder is on sys.path
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

SUITE_ENV = {
    "RATE_LIMIT_IP_PER_MIN": "100000000",
    "RATE_LIMIT_IP_BURST": "10000000",
    "RATE_LIMIT_KEY_PER_MIN": "100000000",
    "MISS_ALLOWANCE_PER_MIN_IP": "1000000",
    "BUDGET_COINGECKO_PER_MIN": "100000",
    "BUDGET_BINANCE_WEIGHT_PER_MIN": "10000000",
    "BUDGET_DEFAULT_PER_MIN": "100000",
    "BUDGET_CLIENT_SHARE": "1",
    "LOG_LEVEL": "warning",
    # One client key, so the gateway has its keyed router and the bench can price a keyed client's path.
    "API_KEYS": "rest-bench-key",
}
KEY_HEADER = "X-API-Key: rest-bench-key"
SERVICES = ["market", "news", "sentiment", "ai", "stream"]
SOURCE_DIRS = ["shared/src", "services/market/src", "services/news/src", "services/sentiment/src",
               "services/ai/src", "services/stream/src", "sandbox/src", "launcher/src"]  # fmt: skip
GOAL_THROUGHPUT = 0.5  # each cached endpoint through the gateway, relative to the static handler through it
GOAL_P99 = 2.0  # p99 at 100 connections, relative to the static handler's through the gateway
WRK_TIMEOUT_S = 2


@dataclass(frozen=True)
class Target:
    name: str
    path: str
    service: str  # whose port serves it directly ("static": the static handler)


TARGETS = [
    Target("static", "/bench/static", "static"),
    Target("market list", "/api/market?limit=10", "market"),
    Target("price", "/api/price/BTC", "market"),
    Target("ticker", "/api/ticker/BTC", "market"),
    Target("OHLCV", "/api/ohlcv?symbol=ETH/USDT&timeframe=4h&limit=37", "market"),
    Target("order book", "/api/orderbook/BTC", "market"),
    Target("news latest", "/api/news/latest", "news"),
    Target("sentiment global", "/api/sentiment/global", "sentiment"),
    Target("ai signals", "/api/ai/signals", "ai"),
]
# Bench-only routes on the public entrypoint, each ending at the static handler (see the module doc), and
# the header a request carries (a keyed client's goes through the keyed router: key check, key limit).
CHAIN_VARIANTS: dict[str, tuple[str, str | None]] = {
    "production chain, anonymous (public router, its middlewares, routing hop)": ("/bench/static", None),
    "production chain, keyed client (key check by ForwardAuth, key limit)": ("/bench/static", KEY_HEADER),
    "no middleware, one hop": ("/bench-variant/bare", None),
    "public chain without the routing hop": ("/bench-variant/one-hop", None),
    "public chain without the buffering middleware": ("/bench-variant/no-buffering", None),
}

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""

# Asks the tree's own launcher for its Traefik command line, pointed at the bench's copy of gateway/dynamic.
GATEWAY_COMMAND = (
    "import json, sys; from pathlib import Path; from suite_launcher.env import build_env; "
    "from suite_launcher.gateway import traefik_command; "
    "print(json.dumps(traefik_command(build_env(), Path(sys.argv[1]))))"
)


# -- the trees -----------------------------------------------------------------------------------------------


@dataclass
class Tree:
    label: str
    root: Path
    commit: str
    env: dict[str, str]  # extra environment (PYTHONPATH for an exported tree, overrides for --extra)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def exported(ref: str) -> Tree:
    """`ref` exported to a temporary directory; its processes import its own sources first (PYTHONPATH)."""
    commit = git("rev-parse", ref)
    target = Path(tempfile.mkdtemp(prefix=f"rest-bench-{ref.replace('/', '-')}-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    path = os.pathsep.join(str(target / folder) for folder in SOURCE_DIRS)
    return Tree(f"before ({ref} {commit[:8]})", target, commit, {"PYTHONPATH": path})


def this_checkout(label: str, overrides: dict[str, str]) -> Tree:
    commit = git("rev-parse", "HEAD") + (" (uncommitted changes)" if git("status", "--porcelain") else "")
    return Tree(label, ROOT, commit, overrides)


# -- measuring -------------------------------------------------------------------------------------------------


def group_cpu_s() -> dict[int, float]:
    """CPU seconds (user + system) of every process group on the machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    totals: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        group = int(fields[2])
        totals[group] = totals.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return totals


def machine_jiffies() -> list[int]:
    return [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(
    url: str, connections: int, duration_s: float, script: Path, groups: dict[str, int], header: str | None = None
) -> dict[str, Any]:
    """One wrk run; its figures, what every suite process and wrk itself spent, and the machine's load."""
    threads = min(2, connections)
    cpu0, wrk0, jiffies0, load0 = group_cpu_s(), children_cpu_s(), machine_jiffies(), os.getloadavg()[0]
    started = time.perf_counter()
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={WRK_TIMEOUT_S}s",
        *(["-H", header] if header else []),
    ]
    output = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    window = time.perf_counter() - started
    cpu1, wrk1, jiffies1 = group_cpu_s(), children_cpu_s(), machine_jiffies()
    line = next(line for line in output.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    spent = [b - a for a, b in zip(jiffies0, jiffies1, strict=True)]
    seconds = raw["duration_us"] / 1e6
    return {
        "connections": connections,
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "requests": raw["requests"],
        "latency_ms": {key: round(raw[f"{key}_us"] / 1000, 2) for key in ("p50", "p90", "p99", "max", "mean")},
        "timeouts": raw["timeout"],
        "socket_errors": {key: raw[key] for key in ("connect", "read", "write")},
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "window_s": round(window, 2),
        "cpu_s": {name: round(cpu1.get(pid, 0.0) - cpu0.get(pid, 0.0), 2) for name, pid in groups.items()},
        "load_generator_cpu_s": round(wrk1 - wrk0, 2),
        "machine_busy": round(1 - (spent[3] + spent[4]) / max(1, sum(spent)), 3),
        "load_average_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def meta_of(url: str) -> dict[str, Any]:
    """Two GETs (the first may fill the cache): the second's status and provenance."""
    with httpx.Client(timeout=30) as client:
        client.get(url)
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
    meta = response.json().get("meta") or {}
    return {"status": response.status_code, "bytes": len(response.content), "cache": meta.get("cache")}


# -- one tree ------------------------------------------------------------------------------------------------


def bench_routes(public_yml: str, static_url: str) -> str:
    """The bench-only dynamic file: the static handler behind the routing hop, and the chain variants."""
    block = re.search(r"public-anonymous:.*?middlewares: \[([^\]]*)\]", public_yml, re.S)
    if block is None:
        raise RuntimeError("no public-anonymous router in gateway/dynamic/public.yml")
    public_chain = [name.strip() for name in block.group(1).split(",")]
    unbuffered = [name for name in public_chain if name not in ("body-limit", "too-large")]
    routing_chain = ["backend-down", "bench-static-breaker", "retry-idempotent"]
    return f"""# Written by bench/rest_throughput.py into a temporary copy of gateway/dynamic; never in production.
http:
  routers:
    bench-static:
      entryPoints: [internal]
      rule: "PathPrefix(`/bench`)"
      priority: 1000
      middlewares: [{", ".join(routing_chain)}]
      service: bench-static
    bench-bare:
      entryPoints: [web]
      rule: "Path(`/bench-variant/bare`)"
      priority: 1000
      service: bench-static
    bench-one-hop:
      entryPoints: [web]
      rule: "Path(`/bench-variant/one-hop`)"
      priority: 1000
      middlewares: [{", ".join(public_chain + routing_chain)}]
      service: bench-static
    bench-no-buffering:
      entryPoints: [web]
      rule: "Path(`/bench-variant/no-buffering`)"
      priority: 1000
      middlewares: [{", ".join(unbuffered)}]
      service: routing-hop
  middlewares:
    bench-static-breaker:
      circuitBreaker:
        expression: "NetworkErrorRatio() > 0.50 || ResponseCodeRatio(500, 502, 0, 600) > 0.50"
        checkPeriod: 1s
        fallbackDuration: 5s
        recoveryDuration: 5s
        responseCode: 503
  services:
    bench-static:
      loadBalancer:
        passHostHeader: true
        servers:
          - url: "{static_url}"
"""


def start_suite(tree: Tree, workdir: Path) -> Any:
    from harness import Suite, free_port, wait_for
    from suite_launcher.procfile import read_procfile

    suite = Suite.create(workdir / "run", **SUITE_ENV, **tree.env)
    suite.root = tree.root
    suite.commands = read_procfile(tree.root / "Procfile")
    print(f"[{tree.label}] starting the suite from {tree.root} (logs in {suite.run_dir})", flush=True)
    # Both Redis roles where the tree has them (state, and the cache since main split them): a missing cache
    # Redis would put every service on its no-Redis fallback, which is not the path production runs.
    suite.start(["nats", *[role for role in ("redis", "redis-cache") if role in suite.commands], "sandbox"])
    suite.start(SERVICES)
    static_port = free_port()
    static_url = f"http://127.0.0.1:{static_port}"
    suite._popen("static", f"{shlex.quote(sys.executable)} {shlex.quote(str(ROOT / 'bench/static_handler.py'))} "
                 f"{static_port}", suite.env.values)  # fmt: skip
    suite.ready_urls["static"] = static_url + "/ready"
    suite.wait_ready("static")
    dynamic = workdir / "gateway" / "dynamic"
    shutil.copytree(tree.root / "gateway" / "dynamic", dynamic)
    (dynamic / "bench.yml").write_text(bench_routes((dynamic / "public.yml").read_text(), static_url))
    command = json.loads(
        subprocess.run(
            [sys.executable, "-c", GATEWAY_COMMAND, str(workdir)],
            env=suite.env.values,
            cwd=tree.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    suite._popen("gateway", shlex.join(command), suite.env.values)
    suite.wait_ready("gateway")
    wait_for(lambda: httpx.get(suite.gateway_url + "/bench/static").status_code == 200, 30)
    suite.env.values["STATIC_URL"] = static_url
    return suite


def run_tree(tree: Tree, targets: list[Target], args: argparse.Namespace, script: Path) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="rest-bench-"))
    suite = start_suite(tree, workdir)
    try:
        groups = {name: process.pid for name, process in suite.processes.items()}
        time.sleep(args.settle)  # start-up work (first polls, model loads) out of the way
        runs: list[dict[str, Any]] = []

        def url_of(target: Target, via: str) -> str:
            base = suite.gateway_url if via == "gateway" else suite.env.values[f"{target.service.upper()}_URL"]
            return base + target.path

        def measure(target: Target, via: str, repeat: str = "") -> None:
            url = url_of(target, via)
            run: dict[str, Any] = {"target": target.name, "path": target.path, "via": via, "checked": meta_of(url)}
            if repeat:
                run["repeat"] = repeat
            else:  # the static handler by the same route just before: the ratio's denominator
                run["static_c100"] = wrk(url_of(static, via), 100, args.duration, script, groups)
            wrk(url, 100, args.warmup, script, groups)
            run["c1"] = wrk(url, 1, args.single, script, groups)
            run["c100"] = wrk(url, 100, args.duration, script, groups)
            if via == "gateway" and args.many:
                run["c1000"] = wrk(url, 1000, args.duration, script, groups)
            runs.append(run)
            c100 = run["c100"]
            print(
                f"[{tree.label}] {target.name} via {via}{repeat}: {c100['requests_per_s']:.0f} req/s, p50 "
                f"{c100['latency_ms']['p50']} ms, p99 {c100['latency_ms']['p99']} ms, 1 conn "
                f"{run['c1']['latency_ms']['mean']} ms"
                + (f", 1000 conn timeouts {run['c1000']['timeouts']}" if "c1000" in run else "")
                + (f"; static before it {run['static_c100']['requests_per_s']:.0f} req/s" if not repeat else ""),
                flush=True,
            )

        static = TARGETS[0]
        measure(static, "direct", " (first)")
        measure(static, "gateway", " (first)")
        for target in targets:
            for via in ("direct", "gateway"):
                measure(target, via)
        chain: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.chain_rounds):
            for name, (path, header) in CHAIN_VARIANTS.items():
                run = wrk(suite.gateway_url + path, 100, args.duration, script, groups, header)
                chain.setdefault(name, []).append(run)
                print(
                    f"[{tree.label}] chain: {name}: {run['requests_per_s']:.0f} req/s, Traefik "
                    f"{traefik_us_per_request(run):.0f} µs CPU per request",
                    flush=True,
                )
        measure(static, "direct", " (last)")
        measure(static, "gateway", " (last)")
    finally:
        suite.stop_all()
    return {"label": tree.label, "commit": tree.commit, "env": tree.env, "runs": runs, "chain": chain}


# -- the report ------------------------------------------------------------------------------------------------


def traefik_us_per_request(run: dict[str, Any]) -> float:
    return float(run["cpu_s"].get("gateway", 0.0)) / max(1, run["requests"]) * 1e6


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def static_reference(tree: dict[str, Any], via: str) -> dict[str, float]:
    """The static handler's figures for `via` over the whole run: the mean of its first and last full
    measurement, and the drift between them."""
    pair = [run["c100"] for run in tree["runs"] if run["target"] == "static" and run["via"] == via]
    rps = [run["requests_per_s"] for run in pair]
    p99 = [run["latency_ms"]["p99"] for run in pair]
    return {
        "requests_per_s": sum(rps) / len(rps),
        "p99_ms": sum(p99) / len(p99),
        "drift": (rps[-1] - rps[0]) / rps[0] if rps[0] else 0.0,
    }


def static_for(tree: dict[str, Any], run: dict[str, Any]) -> dict[str, float]:
    """The static handler a run is compared with: the one measured just before it by the same route."""
    if "static_c100" in run:
        paired = run["static_c100"]
        return {"requests_per_s": paired["requests_per_s"], "p99_ms": paired["latency_ms"]["p99"]}
    return static_reference(tree, run["via"])


def goals(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """Each cached endpoint through the gateway against the goals (ratios to the static handler measured just
    before it through the gateway)."""
    rows = []
    for run in tree["runs"]:
        if run["via"] != "gateway" or run["target"] == "static":
            continue
        static = static_for(tree, run)
        throughput = run["c100"]["requests_per_s"] / static["requests_per_s"]
        p99 = run["c100"]["latency_ms"]["p99"] / static["p99_ms"]
        timeouts = run.get("c1000", {}).get("timeouts")
        answered = run.get("c1000", {}).get("requests")
        rows.append(
            {
                "target": run["target"],
                "throughput_ratio": round(throughput, 3),
                "throughput_met": throughput >= GOAL_THROUGHPUT,
                "p99_ratio": round(p99, 3),
                "p99_met": p99 <= GOAL_P99,
                "timeouts_1000": timeouts,
                "requests_1000": answered,
                "timeouts_met": timeouts == 0 if timeouts is not None else None,
            }
        )
    return rows


def _verdict(met: bool | None, ratio: float | None, goal: float, higher_is_better: bool) -> str:
    if met is None or ratio is None:
        return "—"
    if met:
        return "met"
    short = (goal - ratio) / goal if higher_is_better else (ratio - goal) / goal
    return f"missed by {short:.0%}"


def _timeouts_verdict(row: dict[str, Any]) -> str:
    """0 timeouts is the goal; a miss says how many of the requests wrk sent timed out."""
    if row["timeouts_met"] is None:
        return "—"
    if row["timeouts_met"]:
        return "0, met"
    sent = row["timeouts_1000"] + (row.get("requests_1000") or 0)
    return f"{row['timeouts_1000']} of {sent:,} requests ({row['timeouts_1000'] / max(1, sent):.1%}), NOT met"


def tree_table(tree: dict[str, Any]) -> list[str]:
    statics = {via: static_reference(tree, via) for via in ("direct", "gateway")}
    lines = [
        f"### {tree['label']}",
        "",
        f"Commit {tree['commit']}; extra environment {tree['env'] or 'none'}. The static handler's drift over the "
        f"run (last vs first full measurement): direct {statics['direct']['drift']:+.0%}, gateway "
        f"{statics['gateway']['drift']:+.0%}. Ratios: to the static handler measured just before, by the same "
        "route (its req/s in brackets).",
        "",
        "| target | via | req/s at 100 conn (static) | ratio | p50 / p99 ms at 100 conn | p99 ratio | ms per request, "
        "1 conn | at 1,000 conn: req/s, timeouts | meta.cache | wrk CPU s / window s | machine busy, load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in tree["runs"]:
        c100, static = run["c100"], static_for(tree, run)
        many = run.get("c1000")
        lines.append(
            f"| {run['target'] + run.get('repeat', '')} | {run['via']} | {c100['requests_per_s']:,.0f} "
            f"({static['requests_per_s']:,.0f}) | {c100['requests_per_s'] / static['requests_per_s']:.2f}× | "
            f"{c100['latency_ms']['p50']} / {c100['latency_ms']['p99']} | "
            f"{c100['latency_ms']['p99'] / static['p99_ms']:.2f}× | {run['c1']['latency_ms']['mean']} | "
            + (f"{many['requests_per_s']:,.0f}, {many['timeouts']} |" if many else "— |")
            + f" {run['checked']['cache'] or '—'} | {c100['load_generator_cpu_s']} / {c100['window_s']} | "
            f"{c100['machine_busy']:.0%}, {c100['load_average_1m'][0]} |"
        )
    if tree["chain"]:
        rounds = len(next(iter(tree["chain"].values())))
        lines += [
            "",
            f"Gateway chain, static handler behind it (100 connections, {rounds} interleaved rounds, medians):",
            "",
            "| route | req/s | p99 ms | Traefik CPU µs per request | non-2xx, timeouts (all rounds) |",
            "|---|---|---|---|---|",
        ]
        for name, runs in tree["chain"].items():
            lines.append(
                f"| {name} | {median([run['requests_per_s'] for run in runs]):,.0f} | "
                f"{median([run['latency_ms']['p99'] for run in runs]):.1f} | "
                f"{median([traefik_us_per_request(run) for run in runs]):.0f} | "
                f"{sum(run['non_2xx'] for run in runs)}, {sum(run['timeouts'] for run in runs)} |"
            )
    lines += ["", "Goals (through the gateway):", ""]
    lines += [
        "| endpoint | req/s ratio (≥ 0.5×) | p99 ratio (≤ 2×) | timeouts at 1,000 conn (0) |",
        "|---|---|---|---|",
    ]
    for row in goals(tree):
        lines.append(
            f"| {row['target']} | {row['throughput_ratio']:.2f}×, "
            f"{_verdict(row['throughput_met'], row['throughput_ratio'], GOAL_THROUGHPUT, True)} | "
            f"{row['p99_ratio']:.2f}×, {_verdict(row['p99_met'], row['p99_ratio'], GOAL_P99, False)} | "
            f"{_timeouts_verdict(row)} |"
        )
    return [*lines, ""]


def comparison(trees: list[dict[str, Any]]) -> list[str]:
    """Each endpoint through the gateway in every tree: req/s and p99, and its ratios to that tree's static."""
    if len(trees) < 2:
        return []
    header = " | ".join(tree["label"] for tree in trees)
    lines = [
        "## Before and after (through the gateway, 100 connections)",
        "",
        f"req/s (ratio to the static handler measured just before it) and p99 ms, for: {header}.",
        "",
        "| endpoint | " + " | ".join(tree["label"] for tree in trees) + " |",
        "|---|" + "---|" * len(trees),
    ]
    names = [run["target"] for run in trees[0]["runs"] if run["via"] == "gateway" and run["target"] != "static"]
    for name in names:
        cells = []
        for tree in trees:
            run = next((r for r in tree["runs"] if r["target"] == name and r["via"] == "gateway"), None)
            if run is None:
                cells.append("—")
                continue
            static, c100 = static_for(tree, run), run["c100"]
            cells.append(
                f"{c100['requests_per_s']:,.0f} ({c100['requests_per_s'] / static['requests_per_s']:.2f}×), "
                f"p99 {c100['latency_ms']['p99']}"
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# REST throughput (`bench/rest_throughput.py`)",
        "",
        f"Machine: {report['machine']}. Measured {report['measured_at']}; load average at the start "
        f"{report['load_average_start']}, at the end {report['load_average_end']}.",
        "",
        report["setup"],
        "",
        *comparison(report["trees"]),
    ]
    for tree in report["trees"]:
        lines += tree_table(tree)
    return "\n".join(lines)


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0:
        sys.exit("wrk is needed: apt-get install -y wrk (Debian), then run the bench again")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="main", help="git ref measured first ('none': only this checkout)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per run at 100 and 1,000 connections")
    parser.add_argument("--single", type=float, default=3, help="seconds of the 1-connection run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load before each target's runs")
    parser.add_argument("--settle", type=float, default=10, help="seconds to wait after start-up")
    parser.add_argument("--targets", nargs="+", help="only these targets (names without spaces: first word)")
    parser.add_argument("--no-many", dest="many", action="store_false", help="skip the 1,000-connection runs")
    parser.add_argument("--chain-rounds", type=int, default=3, help="rounds of the gateway chain variants (0: none)")
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="LABEL:VAR=VALUE,...",
        help="also run this checkout with these environment overrides (e.g. 'no L1:RESPONSE_CACHE_ENABLED=false')",
    )
    parser.add_argument("--render", action="store_true", help="only rewrite the .md from the last results' .json")
    args = parser.parse_args()
    if args.render:
        report = json.loads((ROOT / "bench" / "results" / "rest_throughput.json").read_text())
        bench_results.write("rest_throughput", report, markdown(report))
        return
    ensure_wrk()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 1,000 connections; inherited by the suite
    targets = [
        target
        for target in TARGETS[1:]
        if not args.targets or target.name.split()[0].lower() in {name.lower() for name in args.targets}
    ]
    trees = [] if args.baseline == "none" else [exported(args.baseline)]
    trees.append(this_checkout("after (this checkout)", {}))
    for extra in args.extra:
        label, _, assignments = extra.partition(":")
        overrides = dict(item.split("=", 1) for item in assignments.split(",") if item)
        trees.append(this_checkout(f"this checkout, {label}", overrides))
    script = Path(tempfile.mkdtemp(prefix="rest-bench-wrk-")) / "report.lua"
    script.write_text(WRK_SCRIPT)
    load_start = [round(value, 2) for value in os.getloadavg()]
    results = [run_tree(tree, targets, args, script) for tree in trees]
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_start": load_start,
        "load_average_end": [round(value, 2) for value in os.getloadavg()],
        "setup": (
            f"wrk {WRK_TIMEOUT_S} s timeout, 2 threads; {args.duration:g} s at 100 connections (and at 1,000 through "
            f"the gateway), {args.single:g} s at 1 connection, after {args.warmup:g} s of warm-up per target. "
            "Everything (suite, Traefik, wrk) shares the machine's cores. Inbound rate limits are raised to "
            f"{SUITE_ENV['RATE_LIMIT_IP_PER_MIN']} a minute per address and per key (all load comes from one "
            "address; the production defaults, 100 anonymous and 1,000 keyed a minute, would measure the "
            "limiter's 429s), so the figures are the cost of the path, not a client's allowance. Requests carry "
            "no key (the anonymous router) except the keyed chain line. Ratios: see each table."
        ),
        "goals": {"throughput_ratio_min": GOAL_THROUGHPUT, "p99_ratio_max": GOAL_P99, "timeouts_at_1000": 0},
        "trees": results,
        "goal_results": {tree["label"]: goals(tree) for tree in results},
    }
    bench_results.write("rest_throughput", report, markdown(report))


if __name__ == "__main__":
    main()
