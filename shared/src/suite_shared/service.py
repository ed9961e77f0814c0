"""The app factory every service uses: one FastAPI app with the shared parts already wired.

`create_service_app` gives each service its context (settings, Redis link, cache, upstream client, NATS
bus), the contract's error handlers, request metrics, API-key checking, `/health`, `/health/live`,
`/metrics` and the suite-wide `/suite/...` endpoints. A service adds its routers and a `setup` hook
(register upstreams, subscribe to subjects, add health checks) and nothing else cross-cutting. What `setup`
returns is the service's own state (`context.state`), which routes receive typed through `deps.state_of`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx
from fastapi import APIRouter, FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from . import gcpolicy, suite
from .bus import Bus
from .cache import Cache
from .envelope import JSONBody
from .errors import ApiError, error_response, install_error_handlers
from .fairness import MissAllowance
from .guards import RequestGuards
from .health import ComponentHealth, HealthCheck, ServiceHealth, evaluate
from .keys import KeyRing
from .metrics import GC_PAUSE, SERVICE_INFO, MetricsMiddleware, metrics_endpoint
from .redis_link import RedisLink
from .response_cache import ResponseCache, ResponseCacheMiddleware
from .settings import Settings
from .tasks import cancel_all
from .upstream import UpstreamClient

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    """Everything a service's routes and workers share; lives on `app.state.context`."""

    name: str
    settings: Settings
    redis: RedisLink  # state: what must survive (news, aggregates, budgets, leases, sessions)
    cache_redis: RedisLink  # cache: what can be fetched again (provider answers, latest market values)
    cache: Cache
    upstreams: UpstreamClient
    bus: Bus
    suite_http: httpx.AsyncClient  # only for the suite-wide /health and /openapi.json, which are HTTP by nature
    started_at: float = field(default_factory=time.monotonic)
    health_checks: dict[str, HealthCheck] = field(default_factory=dict)
    state: object = None  # what the service's setup hook returned

    async def health(self) -> ServiceHealth:
        return await evaluate(
            self.name, self.settings.version, self.settings.data_source, self.started_at, self.health_checks
        )


Setup = Callable[[ServiceContext], Awaitable[object]]
Hook = Callable[[ServiceContext], Awaitable[None]]


def build_context(name: str, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> ServiceContext:
    redis = RedisLink(
        settings.redis_url, name, timeout_s=settings.redis_timeout_s, ride_through_s=settings.redis_ride_through_s
    )
    cache_redis = RedisLink(settings.cache_redis_url, name, timeout_s=settings.redis_timeout_s, role="cache")
    context = ServiceContext(
        name=name,
        settings=settings,
        redis=redis,
        cache_redis=cache_redis,
        cache=Cache(
            cache_redis,
            settings.ttl,
            namespace=name,
            lock_s=settings.single_flight_lock_s,
            allowance=MissAllowance(redis, settings.miss_allowance_per_min_ip, settings.miss_allowance_per_min_key),
            local_max_bytes=settings.cache_local_max_bytes,
        ),
        upstreams=UpstreamClient(
            redis,
            timeout_s=settings.upstream_timeout_s,
            retries=settings.upstream_retries,
            backoff_s=settings.upstream_backoff_s,
            breaker_failures=settings.breaker_failures,
            breaker_reset_s=settings.breaker_reset_s,
            transport=transport,
            client_share=settings.budgets.client_share,
        ),
        bus=Bus(settings.nats_url, name),
        suite_http=httpx.AsyncClient(timeout=3.0),
    )
    context.health_checks["redis"] = _redis_check(redis, "the state store is unreachable: what lives there waits")
    context.health_checks["redis_cache"] = _redis_check(cache_redis, "answering from the in-process cache")
    context.health_checks["nats"] = _nats_check(context)
    return context


def _redis_check(link: RedisLink, note: str) -> HealthCheck:
    async def check() -> ComponentHealth:
        up = await link.ping()
        return ComponentHealth(status="up" if up else "down", detail={} if up else {"note": note})

    return check


def _nats_check(context: ServiceContext) -> HealthCheck:
    async def check() -> ComponentHealth:
        return ComponentHealth(status="up" if context.bus.connected else "down")

    return check


def create_service_app(
    name: str,
    settings: Settings,
    routers: Sequence[APIRouter] = (),
    setup: Setup | None = None,
    teardown: Hook | None = None,
    description: str = "",
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the service's app; `transport` replaces the network for upstream calls (tests only)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = build_context(name, settings, transport)
        app.state.context = context
        SERVICE_INFO.labels(name, settings.version, settings.data_source).set(1)
        context.bus.start()
        if setup is not None:
            context.state = await setup(context)
        gcpolicy.install(
            lambda generation, seconds: GC_PAUSE.labels(name, str(generation)).observe(seconds),
            settings.gc_young_threshold,
            settings.gc_freeze,
        )
        collector = (
            asyncio.create_task(gcpolicy.govern(settings.gc_freeze_every_s), name="gc-policy")
            if settings.gc_freeze
            else None
        )
        try:
            yield
        finally:
            await cancel_all([collector])
            if teardown is not None:
                await teardown(context)
            await context.bus.close()
            await context.upstreams.close()
            await context.suite_http.aclose()
            await context.redis.close()
            await context.cache_redis.close()

    app = FastAPI(
        title=f"{name} service",
        version=settings.version,
        description=description,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    app.include_router(_health_router())
    app.include_router(suite.router)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    if settings.response_cache_enabled:
        # Innermost: a request reaches it only past the request guards and the API-key check.
        app.add_middleware(
            ResponseCacheMiddleware, cache=ResponseCache(settings.response_cache_max_bytes), service=name
        )
    app.add_middleware(ApiKeyMiddleware, keys=settings.key_ring())
    app.add_middleware(RequestGuards, max_body_bytes=settings.request_body_max_bytes)
    app.add_middleware(MetricsMiddleware, service=name)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health")
    async def health(request: Request) -> JSONBody:
        report = await request.app.state.context.health()
        return JSONBody(report.model_dump(), status_code=503 if report.status == "unhealthy" else 200)

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    return router


class ApiKeyMiddleware:
    """Refuses a request whose API key is unknown (401) or malformed/ambiguous (400); no key is fine (the
    gateway limits anonymous clients per IP). Sets `scope["state"]["api_key"]` to the verified key."""

    def __init__(self, app: ASGIApp, keys: KeyRing) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.keys.enabled:
            await self.app(scope, receive, send)
            return
        try:
            key = self.keys.verify(scope.get("headers") or [])
        except ApiError as error:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401, "reason": error.message[:120]})
                return
            await error_response(error)(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, send)
