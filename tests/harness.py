"""Starts the real suite for integration tests: NATS, Redis, sandbox, services and Traefik on free ports.

Commands come from the project's Procfile (the same lines `make run` hands to honcho), so the tests run
what users run. Each process logs to a file; `Suite.logs()` shows the tail when a test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx

from suite_launcher.env import DEFAULT_PORTS, SuiteEnv, build_env
from suite_launcher.procfile import ROOT, read_procfile
from suite_shared.messages.market import CandleEvent

PORT_READY = {"nats": "NATS_PORT", "redis": "REDIS_PORT", "redis-cache": "REDIS_CACHE_PORT"}
HEALTH_PATHS = {
    "sandbox": "/_sandbox/health",
    "market": "/health",
    "news": "/health",
    "sentiment": "/health",
    "ai": "/health",
    "stream": "/health",
}


# The tests' settings, for the suite started here and for the container stack (compose_stack.py): short
# fresh lifetimes so stale-if-error can be shown within a test; generous gateway limits so the tests' own
# requests are not throttled (the rate-limit test starts its own gateway with low limits).
TEST_ENV = {
    "CACHE_TTL_MARKET": "2",
    "RATE_LIMIT_IP_PER_MIN": "100000",
    "RATE_LIMIT_KEY_PER_MIN": "100000",
    "WS_CONNECT_PER_MIN_PER_IP": "100000",
    "UPSTREAM_TIMEOUT_S": "2",
    "UPSTREAM_RETRIES": "1",
    "BREAKER_FAILURES": "1000",
    # The sandbox is not rate-limited and budgets are unit-tested; a whole session's calls must not spend
    # them and turn an injected fault into budget_exhausted.
    "BUDGET_COINGECKO_PER_MIN": "100000",
    "BUDGET_BINANCE_WEIGHT_PER_MIN": "10000000",
    "BUDGET_DEFAULT_PER_MIN": "100000",
    # The stream tests publish their own events for a pair no exchange lists (the ingest skips it).
    "INGEST_SYMBOLS": "BTC/USDT,ETH/USDT,BNB/USDT,SOL/USDT,XRP/USDT,ADA/USDT,TEST/USDT",
    "STREAM_HEARTBEAT_S": "1",
    "NEWS_POLL_RSS_S": "3",
    "NEWS_POLL_CRYPTOPANIC_S": "3",
    "NEWS_POLL_NEWSAPI_S": "3",
    "NEWS_SCORE_RETRY_S": "1",
    "BUDGET_NEWSAPI_PER_DAY": "100000",
    "BUDGET_CRYPTOPANIC_PER_DAY": "100000",
    "STREAM_RESUME_WINDOW_S": "60",
    "STREAM_IDLE_TIMEOUT_S": "4",
    "CACHE_TTL_SENTIMENT": "2",
    # Every test request comes from 127.0.0.1: one client, far above the per-client miss allowance
    # (tests/test_abuse.py runs its own market replica with the default).
    "MISS_ALLOWANCE_PER_MIN_IP": "1000000",
}


def containers_targeted() -> bool:
    """True in `make test-containers`: the smoke and container tests then run against the compose stack."""
    return os.environ.get("SUITE_TEST_TARGET") == "containers"


def wait_for(check: Callable[[], Any], timeout_s: float = 40.0, every_s: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy (returned), or fail with its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s (last: {value!r})")
        time.sleep(every_s)


def rss_kib(pid: int) -> int:
    """A process's resident memory now (VmRSS, KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port never handed out before in this session (the kernel may offer a just-closed one again)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def free_ports(count: int) -> list[int]:
    return [free_port() for _ in range(count)]


def free_ports_env(**overrides: str) -> dict[str, str]:
    """A port for every part of the suite, none of them the defaults (a developer may be running it)."""
    ports = dict(zip(DEFAULT_PORTS, map(str, free_ports(len(DEFAULT_PORTS))), strict=True))
    return {**ports, **overrides}


class Suite:
    """A running set of the suite's processes with helpers to reach them."""

    def __init__(self, env: SuiteEnv, run_dir: Path) -> None:
        self.env = env
        self.run_dir = run_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ready_urls: dict[str, str] = {}
        self.launched: dict[str, tuple[str, dict[str, str]]] = {}  # alias → (command, env) of spawn/launch
        self.root = ROOT  # the checkout whose Procfile and code run (a benchmark may point it at another)
        self.commands = read_procfile()

    @classmethod
    def create(cls, run_dir: Path, **overrides: str) -> Suite:
        values = {"DATA_SOURCE": "sandbox", "LOG_LEVEL": "info", **free_ports_env(), **overrides}
        env = build_env(values, base={})
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "nats").mkdir(exist_ok=True)
        env.values["RUN_DIR"] = str(run_dir)
        env.values["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        env.values["PYTHONUNBUFFERED"] = "1"
        return cls(env, run_dir)

    # -- processes -------------------------------------------------------------------------------------

    def start(self, names: Iterable[str], wait: bool = True) -> None:
        names = list(names)
        for name in names:
            self._popen(name, self.commands[name], self.env.values)
        if wait:
            for name in names:
                self.wait_ready(name)

    def spawn(
        self, alias: str, process: str, ready_url: str, *, args: str = "", wait: bool = True, **overrides: str
    ) -> None:
        """Start another copy of a Procfile process (a second replica, a private Redis) with changed env, and
        `args` appended to its command line (a NATS node's cluster flags)."""
        command = f"{self.commands[process]} {args}".strip()
        self.launch(alias, command, ready_url, wait=wait, **overrides)

    def launch(self, alias: str, command: str, ready_url: str, *, wait: bool = True, **overrides: str) -> None:
        """Start any command (a Redis Sentinel) in the suite's environment with changed env; `restart` can
        start it again the same way after a stop or a kill."""
        self.launched[alias] = (command, {**self.env.values, **overrides})
        self._popen(alias, *self.launched[alias])
        self.ready_urls[alias] = ready_url
        if wait:
            self.wait_ready(alias)

    def restart(self, alias: str, wait: bool = True) -> None:
        """Start a stopped (or killed) process again: a `spawn`ed or `launch`ed one as it was, a Procfile one
        with the suite's environment."""
        self.stop(alias)
        if alias in self.launched:
            self._popen(alias, *self.launched[alias])
        else:
            self._popen(alias, self.commands[alias], self.env.values)
        if wait:
            self.wait_ready(alias)

    def private_redis(self, alias: str, role: str = "redis") -> str:
        """Another Redis of a role the Procfile defines (`redis`: state, `redis-cache`: cache); its URL."""
        port = free_port()
        self.spawn(alias, role, f"tcp://127.0.0.1:{port}", **{PORT_READY[role]: str(port)})
        return f"redis://127.0.0.1:{port}/0"

    def _popen(self, name: str, command: str, env: dict[str, str]) -> None:
        log = open(self.run_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[name] = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def stop_all(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)

    def wait_ready(self, name: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.logs(name)}")
            if self._ready(name):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready after {timeout_s}s:\n{self.logs(name)}")

    def _ready(self, name: str) -> bool:
        if name in self.ready_urls:
            return _url_ready(self.ready_urls[name])
        if name in PORT_READY:
            return _port_open(int(self.env.values[PORT_READY[name]]))
        if name == "gateway":
            return self._gateway_routes_loaded()
        url = self.env.values["SANDBOX_URL"] if name == "sandbox" else self.env.url(name)
        return _url_ready(url + HEALTH_PATHS[name])

    def _gateway_routes_loaded(self) -> bool:
        try:
            response = httpx.get(self.gateway_url + "/api/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.headers.get("content-type", "").startswith("application/json")

    def logs(self, name: str, lines: int = 60) -> str:
        path = self.run_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- reaching it -----------------------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return self.env.gateway_url

    def service_url(self, name: str) -> str:
        return self.env.url(name)

    @property
    def sandbox_url(self) -> str:
        return self.env.values["SANDBOX_URL"]

    def set_fault(self, upstream: str, mode: str, **fields: Any) -> None:
        response = httpx.post(
            f"{self.sandbox_url}/_sandbox/faults", json={"upstream": upstream, "mode": mode, **fields}
        )
        response.raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.sandbox_url}/_sandbox/faults").raise_for_status()

    def reset_calls(self) -> None:
        httpx.delete(f"{self.sandbox_url}/_sandbox/calls").raise_for_status()

    def calls(self, upstream: str, query_contains: str | None = None) -> int:
        """Calls that reached `upstream` since the last reset; only those whose query has the text, if given."""
        counts = httpx.get(f"{self.sandbox_url}/_sandbox/calls").json()
        if query_contains is None:
            return int(counts["calls"].get(upstream, 0))
        return sum(
            count
            for request, count in counts["requests"].items()
            if request.startswith(f"/{upstream}/") and query_contains in request
        )


def _url_ready(url: str) -> bool:
    if url.startswith("tcp://"):
        return _port_open(int(url.rsplit(":", 1)[1]))
    try:
        # A 404 is not ready: a starting Traefik answers 404 until its file provider has loaded the routes.
        status = httpx.get(url, timeout=1.0).status_code
        return status < 500 and status != 404
    except httpx.HTTPError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def hour_closing_candle(pair: str = "BTC/USDT") -> CandleEvent:
    """A closed 1-minute candle that ends the current hour, as the ingest publishes it (test data: its prices
    are placeholders); on `market.candle.1m.*` it makes the ai service build and publish the pair's 1h signal."""
    hour = int(time.time() * 1000) // 3_600_000 * 3_600_000
    return CandleEvent(
        symbol=pair,
        timeframe="1m",
        t=hour - 60_000,
        o=1.0,
        h=1.0,
        l=1.0,
        c=1.0,
        v=1.0,
        closed=True,
        timestamp=hour,
        received_at=hour,
        source="binance",
    )
