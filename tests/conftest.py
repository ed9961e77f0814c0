"""Session fixtures: one real suite (NATS, Redis, sandbox, five services, Traefik) on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness import Suite

# Short fresh lifetimes so stale-if-error can be shown within a test; generous gateway limits so the
# suite's own requests are not throttled (the rate-limit test starts its own gateway with low limits).
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
SERVICES = ["market", "news", "sentiment", "ai", "stream"]


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    running = Suite.create(Path(tmp_path_factory.mktemp("suite")), **TEST_ENV)
    try:
        running.start(["nats", "redis", "sandbox"])
        running.start(SERVICES)
        running.start(["gateway"])
        yield running
    except Exception:
        for name in running.processes:
            print(f"--- {name} ---\n{running.logs(name)}")
        raise
    finally:
        running.stop_all()


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
