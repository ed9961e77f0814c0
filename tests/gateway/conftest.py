"""Fixtures for the gateway tests: stub services and a REAL Traefik started with `traefik_command`.

Every process runs in its own session (process group) and is killed with its group by a finalizer, so
nothing outlives the test session. Readiness is polled, never slept on: each stub's `/health`, then
Traefik's ping on the metrics entrypoint, then a route through both hops (the file provider has loaded).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from suite_launcher.env import SERVICES, build_env
from suite_launcher.gateway import traefik_command

ROOT = Path(__file__).resolve().parents[2]
STUB = Path(__file__).with_name("stub_backend.py")
READY_TIMEOUT_S = 15.0


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, timeout: float = READY_TIMEOUT_S) -> None:
    """Poll `check` every 50 ms until it is true; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started with start_new_session=True, with its whole group."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass
class Stubs:
    """The five stub services: name → port, and their processes (to kill one on purpose)."""

    ports: dict[str, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def kill(self, name: str) -> None:
        kill_group(self.processes[name])

    def stop(self) -> None:
        for process in self.processes.values():
            kill_group(process)


@dataclass
class Gateway:
    """A running Traefik: its public and metrics base URLs, its log file."""

    url: str
    metrics_url: str
    log: Path
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=5.0)


def start_stubs() -> Stubs:
    """Start one stub process per service on free ports; return once every `/health` answers."""
    stubs = Stubs({name: free_port() for name in SERVICES})
    try:
        for name, port in stubs.ports.items():
            stubs.processes[name] = subprocess.Popen(
                [sys.executable, str(STUB), name, str(port)],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for name, port in stubs.ports.items():
            wait_until(
                lambda port=port: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, f"stub {name}"
            )
    except BaseException:
        stubs.stop()
        raise
    return stubs


def start_gateway(stubs: Stubs, tmp_dir: Path, limits: dict[str, str]) -> Gateway:
    """Start Traefik in front of `stubs` with the given limit variables; return once it routes."""
    ports = {"GATEWAY_PORT": free_port(), "GATEWAY_INTERNAL_PORT": free_port(), "GATEWAY_METRICS_PORT": free_port()}
    overrides = {name: str(port) for name, port in ports.items()}
    overrides |= {f"{name.upper()}_PORT": str(port) for name, port in stubs.ports.items()}
    overrides |= {"SUITE_HOST": "127.0.0.1", "GATEWAY_HEALTHCHECK_INTERVAL": "500ms", "LOG_LEVEL": "INFO", **limits}
    env = build_env(overrides, base={"PATH": os.environ.get("PATH", "")})
    log = tmp_dir / f"traefik-{ports['GATEWAY_PORT']}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            traefik_command(env, ROOT), env=env.values, start_new_session=True, stdout=sink, stderr=subprocess.STDOUT
        )
    gateway = Gateway(env.gateway_url, f"http://127.0.0.1:{ports['GATEWAY_METRICS_PORT']}", log, process)
    try:
        wait_until(lambda: httpx.get(f"{gateway.metrics_url}/ping").status_code == 200, "Traefik ping")
        wait_until(lambda: _routes(gateway), "Traefik routes (file provider loaded)")
    except BaseException:
        kill_group(process)
        print(log.read_text(errors="replace")[-4000:])
        raise
    return gateway


def _routes(gateway: Gateway) -> bool:
    """True once a request crosses both hops to its owner and the suite pool answers.

    Probes go through the per-key router with a fresh key each, so they spend no test's budget.
    """
    headers = {"X-API-Key": f"readiness-{uuid.uuid4().hex}"}
    market = httpx.get(f"{gateway.url}/api/market", headers=headers)
    health = httpx.get(f"{gateway.url}/health", headers=headers)
    return market.status_code == 200 and market.json().get("service") == "market" and health.status_code == 200


@pytest.fixture(scope="session")
def stubs() -> Iterator[Stubs]:
    """Stub services shared by the gateways that do not kill any."""
    started = start_stubs()
    yield started
    started.stop()


@pytest.fixture(scope="session")
def gateway(stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with limits far above what the tests send (routing, CORS, WebSocket, metrics)."""
    running = start_gateway(
        stubs,
        tmp_path_factory.mktemp("gw"),
        {"RATE_LIMIT_IP_PER_MIN": "100000", "RATE_LIMIT_KEY_PER_MIN": "100000", "WS_CONNECT_PER_MIN_PER_IP": "100000"},
    )
    yield running
    kill_group(running.process)


# Low limits: 5/min per IP, 4/min per key (ceiling 100/min per IP over keys), 3 WebSocket connects/min.
LIMITED = {
    "RATE_LIMIT_IP_PER_MIN": "5",
    "RATE_LIMIT_KEY_PER_MIN": "4",
    "RATE_LIMIT_KEY_IP_CEILING_PER_MIN": "100",
    "WS_CONNECT_PER_MIN_PER_IP": "3",
}


@pytest.fixture(scope="session")
def limited_gateway(stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with tiny limits, for the 429 tests."""
    running = start_gateway(stubs, tmp_path_factory.mktemp("gw-limited"), LIMITED)
    yield running
    kill_group(running.process)


@pytest.fixture
def own_suite(tmp_path: Path) -> Iterator[tuple[Stubs, Gateway]]:
    """Private stubs and gateway for a test that kills a backend."""
    private = start_stubs()
    try:
        running = start_gateway(private, tmp_path, {"RATE_LIMIT_IP_PER_MIN": "100000"})
    except BaseException:
        private.stop()
        raise
    yield private, running
    kill_group(running.process)
    private.stop()
