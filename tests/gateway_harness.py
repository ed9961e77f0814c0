"""Stub services and a REAL Traefik started with `traefik_command`, for the gateway tests (fixtures in
tests/gateway/conftest.py).

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from suite_launcher.env import SERVICES, build_env
from suite_launcher.gateway import traefik_command

ROOT = Path(__file__).resolve().parents[1]
STUB = Path(__file__).parent / "gateway" / "stub_backend.py"
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
    internal_url: str
    log: Path
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=5.0)


# The API keys the stub services accept (as the real services would with API_KEYS / ADMIN_API_KEYS set).
STUB_KEYS = {"API_KEYS": "test-key-a,test-key-b", "ADMIN_API_KEYS": "test-admin"}
# Key headers that must earn no bucket with STUB_KEYS configured (headers, status, error code): the local
# and the k8s gateway are held to the same list.
HOSTILE_KEYS: list[tuple[list[tuple[str, str]], int, str]] = [
    ([("X-API-Key", "invented")], 401, "UNAUTHORIZED"),
    ([("Authorization", "Bearer invented")], 401, "UNAUTHORIZED"),
    ([("Authorization", "Bearer\ttest-key-b")], 400, "INVALID_PARAMETER"),
    ([("Authorization", "Bearer  test-key-b")], 400, "INVALID_PARAMETER"),
    ([("Authorization", "Basic dGVzdDp0ZXN0")], 400, "INVALID_PARAMETER"),
    ([("X-API-Key", "test-key-b"), ("X-API-Key", "test-key-a")], 400, "INVALID_PARAMETER"),
    ([("X-API-Key", "test-key-b"), ("Authorization", "Bearer test-key-a")], 400, "INVALID_PARAMETER"),
    ([("X-API-Key", "")], 400, "INVALID_PARAMETER"),
]


def envelope_code(response: httpx.Response) -> str:
    """The contract error envelope's code (asserting the envelope's shape on the way)."""
    body: dict[str, Any] = response.json()
    assert body["success"] is False and isinstance(body["timestamp"], int)
    return str(body["error"]["code"])


def assert_earns_no_bucket(gateway_url: str, headers: list[tuple[str, str]], status: int, code: str) -> None:
    """One of HOSTILE_KEYS is answered with its error envelope, CORS header included, and no limit bucket."""
    response = httpx.get(f"{gateway_url}/api/news/latest", headers=headers)
    assert response.status_code == status and envelope_code(response) == code
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def assert_key_a_spellings_share_its_empty_bucket(url: str) -> None:
    """With test-key-a's bucket and the anonymous one emptied: every spelling of key A is refused, key B passes."""
    for same_key in ({"Authorization": "Bearer test-key-a"}, {"Authorization": "bEaReR test-key-a"}):
        assert httpx.get(url, headers=same_key).status_code == 429, same_key  # the same bucket
    assert httpx.get(url, headers={"X-API-Key": "test-key-b"}).status_code == 200  # another key, another bucket
    assert httpx.get(url).status_code == 429


def start_stubs() -> Stubs:
    """Start one stub process per service on free ports; return once every `/health` answers."""
    stubs = Stubs({name: free_port() for name in SERVICES})
    try:
        for name, port in stubs.ports.items():
            stubs.processes[name] = subprocess.Popen(
                [sys.executable, str(STUB), name, str(port)],
                env={**os.environ, **STUB_KEYS},
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


def start_gateway(stubs: Stubs, tmp_dir: Path, limits: dict[str, str], root: Path = ROOT) -> Gateway:
    """Start Traefik in front of `stubs` with the given limit variables; return once it routes. `root` holds
    the `gateway/` configuration (a test may hand a modified copy)."""
    ports = {"GATEWAY_PORT": free_port(), "GATEWAY_INTERNAL_PORT": free_port(), "GATEWAY_METRICS_PORT": free_port()}
    overrides = {name: str(port) for name, port in ports.items()}
    overrides |= {f"{name.upper()}_PORT": str(port) for name, port in stubs.ports.items()}
    overrides |= {"SUITE_HOST": "127.0.0.1", "GATEWAY_HEALTHCHECK_INTERVAL": "500ms", "LOG_LEVEL": "INFO", **limits}
    env = build_env(overrides, base={"PATH": os.environ.get("PATH", "")})
    log = tmp_dir / f"traefik-{ports['GATEWAY_PORT']}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            traefik_command(env, root), env=env.values, start_new_session=True, stdout=sink, stderr=subprocess.STDOUT
        )
    gateway = Gateway(
        env.gateway_url,
        f"http://127.0.0.1:{ports['GATEWAY_METRICS_PORT']}",
        f"http://127.0.0.1:{ports['GATEWAY_INTERNAL_PORT']}",
        log,
        process,
    )
    try:
        wait_until(lambda: httpx.get(f"{gateway.metrics_url}/ping").status_code == 200, "Traefik ping")
        wait_until(lambda: _routes(gateway), "Traefik routes (file provider loaded)")
    except BaseException:
        kill_group(process)
        print(log.read_text(errors="replace")[-4000:])
        raise
    return gateway


def _routes(gateway: Gateway) -> bool:
    """True once the routing hop sends a request to its owner and the suite pool answers.

    Probes go to the loopback routing hop directly, so they spend no test's rate-limit budget; the public
    hop's routers come from the same file, loaded at the same time.
    """
    market = httpx.get(f"{gateway.internal_url}/api/market")
    health = httpx.get(f"{gateway.internal_url}/health")
    return market.status_code == 200 and market.json().get("service") == "market" and health.status_code == 200
