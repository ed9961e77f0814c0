"""Fixtures for the gateway tests: stub services and a REAL Traefik (helpers in tests/gateway_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway_harness import STUB_KEYS, Gateway, Stubs, kill_group, start_gateway, start_stubs


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


# Low limits: 5/min per IP, 4/min per verified key, 3 WebSocket connects/min; the stubs' keys are configured.
LIMITED = {
    "RATE_LIMIT_IP_PER_MIN": "5",
    "RATE_LIMIT_KEY_PER_MIN": "4",
    "WS_CONNECT_PER_MIN_PER_IP": "3",
    **STUB_KEYS,
}


@pytest.fixture(scope="session")
def limited_gateway(stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with tiny limits, for the 429 tests."""
    running = start_gateway(stubs, tmp_path_factory.mktemp("gw-limited"), LIMITED)
    yield running
    kill_group(running.process)


@pytest.fixture(scope="session")
def open_gateway(stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway with no API keys configured (no keyed tier) and a tiny per-IP limit."""
    running = start_gateway(stubs, tmp_path_factory.mktemp("gw-open"), {"RATE_LIMIT_IP_PER_MIN": "5"})
    yield running
    kill_group(running.process)


def private_suite(tmp_path: Path, **limits: str) -> Iterator[tuple[Stubs, Gateway]]:
    """Stubs and a gateway of the test's own (it kills a backend), stopped afterwards."""
    private = start_stubs()
    try:
        running = start_gateway(private, tmp_path, {"RATE_LIMIT_IP_PER_MIN": "100000", **limits})
    except BaseException:
        private.stop()
        raise
    yield private, running
    kill_group(running.process)
    private.stop()


@pytest.fixture
def own_suite(tmp_path: Path) -> Iterator[tuple[Stubs, Gateway]]:
    """Private stubs and gateway for a test that kills a backend."""
    yield from private_suite(tmp_path)


@pytest.fixture
def blind_suite(tmp_path: Path) -> Iterator[tuple[Stubs, Gateway]]:
    """Private stubs and a gateway whose health checks are too slow to notice a death during a test (60 s),
    so a killed backend stays in every pool: what clients see in the seconds before a health check runs."""
    yield from private_suite(tmp_path, GATEWAY_HEALTHCHECK_INTERVAL="60s")
