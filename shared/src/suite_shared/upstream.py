"""The one HTTP client for upstream APIs: timeouts, bounded retries, shared budgets, circuit breakers.

Every call names its upstream. Before the call the upstream's breaker and budget are checked (the budget
is a counter per time window in Redis, so all replicas share it; while Redis is down each replica counts
alone). Failures are classified (`UpstreamFailure.reason`) so a provider chain can decide to fall back:
timeouts, network errors, 5xx, 429/418, 451, malformed bodies, an open breaker or a spent budget all do.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from .caller import current_client
from .metrics import UPSTREAM_BUDGET_REMAINING, UPSTREAM_CIRCUIT_OPEN, UPSTREAM_LATENCY, UPSTREAM_REQUESTS
from .redis_link import RedisDown, RedisLink

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 2.0


class UpstreamFailure(Exception):
    """An upstream call that did not produce a usable answer. `reason` is its failure class."""

    reason = "error"
    fallback = True

    def __init__(
        self, upstream: str, message: str, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(f"{upstream}: {message}")
        self.upstream = upstream
        self.status = status
        self.retry_after_s = retry_after_s


class UpstreamTimedOut(UpstreamFailure):
    reason = "timeout"


class UpstreamNetworkError(UpstreamFailure):
    reason = "network"


class UpstreamServerError(UpstreamFailure):
    reason = "server_error"


class UpstreamRateLimited(UpstreamFailure):
    reason = "rate_limited"


class UpstreamBlocked(UpstreamFailure):
    reason = "blocked"  # 451: unavailable for legal reasons in this region


class MalformedBody(UpstreamFailure):
    reason = "malformed"


class BudgetExhausted(UpstreamFailure):
    reason = "budget_exhausted"


class ClientBudgetSpent(Exception):
    """The calling client has used its share of an upstream's budget this window (fairness.py's rule applied
    to each upstream): it is refused, the budget stays for the others. Not an UpstreamFailure, so no provider
    chain falls back on it (which would spend the next provider's budget for the same client)."""

    def __init__(self, upstream: str, retry_after_s: int) -> None:
        super().__init__(f"this client has used its share of {upstream}'s budget")
        self.upstream = upstream
        self.retry_after_s = retry_after_s


class CircuitOpen(UpstreamFailure):
    reason = "circuit_open"


class NotServed(UpstreamFailure):
    """This upstream does not carry what was asked (a pair it does not list): the next provider may."""

    reason = "not_served"


class UpstreamRejected(UpstreamFailure):
    """A 4xx the upstream meant (bad symbol, unknown id): the provider decides what it means for us."""

    reason = "rejected"
    fallback = False


@dataclass
class UpstreamConfig:
    """One upstream: where it is, how much we may call it, and how to authenticate."""

    name: str
    base_url: str
    budget: int = 60
    budget_window_s: int = 60
    api_key: str | None = None
    api_key_header: str | None = None
    api_key_param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class CircuitBreaker:
    """Opens after `failures` consecutive failures; after `reset_s` lets one trial call through."""

    def __init__(self, name: str, failures: int, reset_s: float) -> None:
        self.name = name
        self.threshold = failures
        self.reset_s = reset_s
        self.consecutive = 0
        self.opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self.opened_at >= self.reset_s else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def record_success(self) -> None:
        self.consecutive = 0
        self._trial_running = False
        if self.opened_at is not None:
            log.info("circuit for %s closed again", self.name)
        self.opened_at = None
        UPSTREAM_CIRCUIT_OPEN.labels(self.name).set(0)

    def record_failure(self) -> None:
        self.consecutive += 1
        self._trial_running = False
        if self.opened_at is not None or self.consecutive >= self.threshold:
            if self.opened_at is None:
                log.warning("circuit for %s opened after %d failures", self.name, self.consecutive)
            self.opened_at = time.monotonic()
            UPSTREAM_CIRCUIT_OPEN.labels(self.name).set(1)


class Budget:
    """Calls (or weight units) left in the current window, counted in Redis so replicas share it.

    A call made for a client (guards.current_client) also counts against that client's share of the window
    (`client_share` of the budget, at least one call): past it the client is refused with ClientBudgetSpent
    and its units are handed back, so no one client can spend what every client shares."""

    def __init__(self, config: UpstreamConfig, redis: RedisLink | None, client_share: float = 1.0) -> None:
        self.config = config
        self.redis = redis
        self.client_allowance = max(1, int(config.budget * client_share))
        self._local_window = 0
        self._local_used = 0
        self._local_clients: dict[str, int] = {}

    def _window(self) -> int:
        return int(time.time()) // self.config.budget_window_s

    async def spend(self, units: int, client: str | None = None) -> int:
        """Take `units` from the window; return what is left (negative means over budget)."""
        window = self._window()
        key = f"budget:{self.config.name}:{window}"
        client_key = f"{key}:client:{client}" if client is not None else None
        try:
            used, client_used = await self._spend_shared(key, client_key, units)
        except RedisDown:
            used, client_used = self._spend_local(window, client, units)
        if client_used > self.client_allowance:
            await self._refund(key, client_key, client, units)
            raise ClientBudgetSpent(
                self.config.name, self.config.budget_window_s - int(time.time()) % self.config.budget_window_s
            )
        left = self.config.budget - used
        UPSTREAM_BUDGET_REMAINING.labels(self.config.name).set(max(left, 0))
        return left

    async def _spend_shared(self, key: str, client_key: str | None, units: int) -> tuple[int, int]:
        if self.redis is None:
            raise RedisDown("no redis")

        async def incr(redis: Any) -> tuple[int, int]:
            pipe = redis.pipeline()
            pipe.incrby(key, units)
            pipe.expire(key, self.config.budget_window_s * 2)
            if client_key is not None:
                pipe.incrby(client_key, units)
                pipe.expire(client_key, self.config.budget_window_s * 2)
            results = await pipe.execute()
            return int(results[0]), int(results[2]) if client_key is not None else 0

        return await self.redis.call(incr)

    async def _refund(self, key: str, client_key: str | None, client: str | None, units: int) -> None:
        async def decr(redis: Any) -> None:
            pipe = redis.pipeline()
            pipe.decrby(key, units)
            if client_key is not None:
                pipe.decrby(client_key, units)
            await pipe.execute()

        try:
            if self.redis is None:
                raise RedisDown("no redis")
            await self.redis.call(decr)
        except RedisDown:
            self._local_used -= units
            if client is not None:
                self._local_clients[client] = self._local_clients.get(client, units) - units

    def _spend_local(self, window: int, client: str | None, units: int) -> tuple[int, int]:
        if window != self._local_window:
            self._local_window, self._local_used, self._local_clients = window, 0, {}
        self._local_used += units
        if client is None:
            return self._local_used, 0
        self._local_clients[client] = self._local_clients.get(client, 0) + units
        return self._local_used, self._local_clients[client]

    async def remaining(self) -> int:
        key = f"budget:{self.config.name}:{self._window()}"
        try:
            raw = await self.redis.call(lambda client: client.get(key)) if self.redis else None
            used = int(raw or 0)
        except RedisDown:
            used = self._local_used if self._local_window == self._window() else 0
        return self.config.budget - used


@dataclass
class UpstreamStats:
    """What /api/providers reports per upstream."""

    last_success_ms: int | None = None
    last_failure_ms: int | None = None
    last_error: str | None = None
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)


class UpstreamClient:
    """Shared httpx client plus per-upstream breaker, budget and stats. Inject `transport` in tests."""

    def __init__(
        self,
        redis: RedisLink | None,
        timeout_s: float = 8.0,
        retries: int = 2,
        backoff_s: float = 0.2,
        breaker_failures: int = 5,
        breaker_reset_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "crypto-data-suite",
        client_share: float = 1.0,
    ) -> None:
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
            transport=transport,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
            follow_redirects=True,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )
        self.redis = redis
        self.retries = retries
        self.backoff_s = backoff_s
        self.breaker_failures = breaker_failures
        self.breaker_reset_s = breaker_reset_s
        self.client_share = client_share
        self.configs: dict[str, UpstreamConfig] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self.budgets: dict[str, Budget] = {}
        self.stats: dict[str, UpstreamStats] = {}

    def register(self, config: UpstreamConfig) -> None:
        self.configs[config.name] = config
        self.breakers[config.name] = CircuitBreaker(config.name, self.breaker_failures, self.breaker_reset_s)
        self.budgets[config.name] = Budget(config, self.redis, self.client_share)
        self.stats[config.name] = UpstreamStats()

    async def get_json(
        self,
        upstream: str,
        path: str,
        params: dict[str, Any] | None = None,
        weight: int = 1,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = await self.request(upstream, "GET", path, params=params, weight=weight, headers=headers)
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            failure = MalformedBody(upstream, f"body is not JSON ({len(response.content)} bytes)")
            self._record_failure(upstream, failure)
            raise failure from exc

    async def get_text(self, upstream: str, path: str, params: dict[str, Any] | None = None, weight: int = 1) -> str:
        response = await self.request(upstream, "GET", path, params=params, weight=weight)
        return response.text

    async def request(
        self,
        upstream: str,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        weight: int = 1,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One logical call: breaker and budget checks, then up to `retries` retries on transient failures."""
        config = self.configs[upstream]
        if not self.breakers[upstream].allow():
            raise self._count(CircuitOpen(upstream, "circuit breaker open"))
        url, params, all_headers = self._prepare(config, path, params, headers)
        attempt = 0
        while True:
            if await self.budgets[upstream].spend(weight, current_client()) < 0:  # every attempt is a real call
                raise self._count(
                    BudgetExhausted(upstream, f"budget of {config.budget}/{config.budget_window_s}s spent")
                )
            try:
                response = await self._send(upstream, method, url, params, all_headers)
            except (UpstreamTimedOut, UpstreamNetworkError, UpstreamServerError) as failure:
                if attempt < self.retries:
                    attempt += 1
                    await asyncio.sleep(self._backoff(attempt))
                    continue
                self._record_failure(upstream, failure)
                raise
            except UpstreamFailure as failure:
                self._record_failure(upstream, failure)
                raise
            self._record_success(upstream)
            return response

    def _prepare(
        self, config: UpstreamConfig, path: str, params: dict[str, Any] | None, headers: dict[str, str] | None
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        query = {key: value for key, value in (params or {}).items() if value is not None}
        all_headers = {**config.headers, **(headers or {})}
        if config.api_key and config.api_key_header:
            all_headers[config.api_key_header] = config.api_key
        if config.api_key and config.api_key_param:
            query[config.api_key_param] = config.api_key
        if not path:  # the base URL is the resource itself (an RSS feed): call it exactly as configured
            return config.base_url, query, all_headers
        return config.base_url.rstrip("/") + "/" + path.lstrip("/"), query, all_headers

    async def _send(
        self, upstream: str, method: str, url: str, params: dict[str, Any], headers: dict[str, str]
    ) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise self._count(UpstreamTimedOut(upstream, f"timed out ({type(exc).__name__})")) from exc
        except httpx.HTTPError as exc:
            raise self._count(UpstreamNetworkError(upstream, f"{type(exc).__name__}: {exc}")) from exc
        finally:
            UPSTREAM_LATENCY.labels(upstream).observe(time.perf_counter() - started)
        failure = classify_status(upstream, response)
        if failure is not None:
            raise self._count(failure)
        UPSTREAM_REQUESTS.labels(upstream, "ok").inc()
        return response

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter."""
        return random.uniform(0, min(MAX_BACKOFF_S, self.backoff_s * 2 ** (attempt - 1)))

    @staticmethod
    def _count(failure: UpstreamFailure) -> UpstreamFailure:
        UPSTREAM_REQUESTS.labels(failure.upstream, failure.reason).inc()
        return failure

    def _record_success(self, upstream: str) -> None:
        self.breakers[upstream].record_success()
        stats = self.stats[upstream]
        stats.successes += 1
        stats.last_success_ms = int(time.time() * 1000)

    def _record_failure(self, upstream: str, failure: UpstreamFailure) -> None:
        if failure.fallback and not isinstance(failure, (BudgetExhausted, CircuitOpen)):
            self.breakers[upstream].record_failure()
        stats = self.stats[upstream]
        stats.failures[failure.reason] = stats.failures.get(failure.reason, 0) + 1
        stats.last_failure_ms = int(time.time() * 1000)
        stats.last_error = str(failure)

    async def close(self) -> None:
        await self.http.aclose()


def classify_status(upstream: str, response: httpx.Response) -> UpstreamFailure | None:
    """Map an HTTP status to its failure class (None for success)."""
    status = response.status_code
    if status < 400:
        return None
    if status in (418, 429):
        return UpstreamRateLimited(upstream, f"HTTP {status}", status, _retry_after(response))
    if status == 451:
        return UpstreamBlocked(upstream, "HTTP 451 (unavailable in this region)", status)
    if status >= 500:
        return UpstreamServerError(upstream, f"HTTP {status}", status)
    return UpstreamRejected(upstream, f"HTTP {status}: {response.text[:200]}", status)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
