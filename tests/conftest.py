"""Session fixtures: one real suite (NATS, Redis, sandbox, five services, Traefik) on free ports; in
`make test-containers`, the compose stack instead (built from the Dockerfile, see compose_stack.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from compose_stack import ComposeStack
from harness import TEST_ENV, Suite, containers_targeted

SERVICES = ["market", "news", "sentiment", "ai", "stream"]


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = Suite.create(Path(tmp_path_factory.mktemp("suite")), **TEST_ENV)
    try:
        running.start(["nats", "redis", "redis-cache", "sandbox"])
        running.start(SERVICES)
        running.start(["gateway"])
        yield running
    except Exception:
        for name in running.processes:
            print(f"--- {name} ---\n{running.logs(name)}")
        raise
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """docker-compose.yml running with the sandbox profile, every container healthy; `down -v` at the end."""
    if not containers_targeted():
        pytest.skip("the container tests run in `make test-containers`")
    running = ComposeStack.create(tmp_path_factory.mktemp("stack"))
    try:
        running.up()
        yield running
    except Exception:
        print(running.logs())
        raise
    finally:
        running.down()


@pytest.fixture
def gateway(suite: Suite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.gateway_url, timeout=15.0) as client:
        yield client


@pytest.fixture
def sandbox(suite: Suite) -> Iterator[Suite]:
    """The suite with the sandbox's faults cleared and call counters reset before and after the test."""
    suite.clear_faults()
    suite.reset_calls()
    yield suite
    suite.clear_faults()
