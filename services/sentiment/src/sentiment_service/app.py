"""The sentiment service: the Fear & Greed reading with components we can compute, and per-symbol news
sentiment kept current from the news service's scored articles (JetStream `news.scored`)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from suite_shared.health import ComponentHealth
from suite_shared.providers import ProviderChain
from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings
from suite_shared.streams import ensure_stream, news_stream
from suite_shared.upstream import UpstreamConfig

from .aggregates import NewsAggregates, NewsConsumer
from .fear_greed import AlternativeMeFearGreed
from .routes import router


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or get_settings()
    app: FastAPI

    async def setup(ctx: ServiceContext) -> None:
        ctx.upstreams.register(
            UpstreamConfig(
                "alternative_me", ctx.settings.alternative_me_base_url, budget=ctx.settings.budgets.default_per_min
            )
        )
        app.state.fear_greed = ProviderChain("fear_greed", [AlternativeMeFearGreed(ctx.upstreams)])
        retention_s = ctx.settings.news_retention_s
        app.state.aggregates = NewsAggregates(ctx.redis, int(retention_s * 1000))
        consumer = NewsConsumer(ctx.bus, app.state.aggregates)
        app.state.consumer = consumer

        async def declare_stream() -> None:  # the same definition the news service declares
            await ensure_stream(ctx.bus.jetstream(), news_stream(retention_s))

        ctx.bus.on_connect(declare_stream)
        consumer.start()

        async def news_health() -> ComponentHealth:
            return ComponentHealth(status="up", detail={"last_message_ms": consumer.last_message_ms})

        ctx.health_checks["news_feed"] = news_health

    async def teardown(ctx: ServiceContext) -> None:
        await app.state.consumer.stop()

    app = create_service_app(
        "sentiment",
        settings,
        routers=[router],
        setup=setup,
        teardown=teardown,
        transport=transport,
        description=__doc__ or "",
    )
    return app
