"""The sentiment service: the Fear & Greed reading with components we can compute, and per-symbol news
sentiment kept current from the news service's scored articles (JetStream `news.scored`)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from suite_shared.clients import MarketClient
from suite_shared.health import ComponentHealth
from suite_shared.providers import ProviderChain
from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings
from suite_shared.streams import news_stream
from suite_shared.topics import SENTIMENT_SYMBOL_GET
from suite_shared.upstream import UpstreamConfig

from . import compat
from .aggregates import NewsAggregates, NewsFeed
from .fear_greed import AlternativeMeFearGreed
from .routes import router, symbol_summary
from .state import SentimentState


async def setup(ctx: ServiceContext) -> SentimentState:
    settings = ctx.settings
    ctx.upstreams.register(
        UpstreamConfig("alternative_me", settings.alternative_me_base_url, budget=settings.budgets.default_per_min)
    )
    retention_s = settings.news_retention_s
    aggregates = NewsAggregates(ctx.redis, int(retention_s * 1000))
    state = SentimentState(
        fear_greed=ProviderChain("fear_greed", [AlternativeMeFearGreed(ctx.upstreams)]),
        aggregates=aggregates,
        feed=NewsFeed(ctx.bus, aggregates),
        market=MarketClient(ctx.bus),
    )

    async def on_connect() -> None:
        await ctx.bus.ensure_stream(news_stream(settings))  # the same definition the news service declares
        await ctx.bus.serve(SENTIMENT_SYMBOL_GET, lambda request: symbol_summary(ctx, state, request.symbol))

    ctx.bus.on_connect(on_connect)
    state.feed.start()

    async def news_health() -> ComponentHealth:
        rebuild = state.feed.rebuild
        return ComponentHealth(
            status="up",
            detail={
                "last_message_ms": state.feed.last_message_ms,
                "rebuilt_articles": rebuild.last_restored,
                "rebuild": rebuild.last_error,
            },
        )

    ctx.health_checks["news_feed"] = news_health
    return state


async def teardown(ctx: ServiceContext) -> None:
    if isinstance(ctx.state, SentimentState):
        await ctx.state.feed.stop()


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return create_service_app(
        "sentiment",
        settings or get_settings(),
        routers=[router, compat.router],
        setup=setup,
        teardown=teardown,
        transport=transport,
        description=__doc__ or "",
    )
