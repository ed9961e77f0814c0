"""The news service: aggregated, de-duplicated, AI-scored crypto news.

Pollers (ingest.py) bring CryptoPanic, NewsAPI and three RSS feeds in on schedules that fit their budgets;
stories are de-duplicated and stored in Redis (store.py); the scorer (scoring.py) has the ai service score
them over NATS; every stored change queues its event (`news.article`, `news.scored`) in the same Redis
transaction and the relay (outbox.py) puts it on the NEWS JetStream stream, from which a flushed store is
rebuilt (rebuild.py); GET /api/news/latest serves them.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from fastapi import FastAPI

from suite_shared.health import ComponentHealth, HealthCheck
from suite_shared.redis_link import RedisDown
from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings
from suite_shared.streams import news_stream
from suite_shared.upstream import UpstreamConfig

from . import compat
from .ingest import Ingestor
from .outbox import Relay
from .pages import PageMemo
from .rebuild import store_rebuild
from .routes import router, status_report
from .scoring import Scorer
from .sources import CoinDeskRss, CointelegraphRss, CryptoPanicPosts, DecryptRss, NewsApiEverything, NewsSource
from .state import NewsState
from .store import NewsStore

DAY_S = 86_400


def register_upstreams(ctx: ServiceContext) -> None:
    settings, budgets = ctx.settings, ctx.settings.budgets
    ctx.upstreams.register(
        UpstreamConfig(
            "cryptopanic",
            settings.cryptopanic_base_url,
            budget=budgets.cryptopanic_per_day,
            budget_window_s=DAY_S,
            api_key=settings.cryptopanic_api_key,
            api_key_param=CryptoPanicPosts.api_key_param,
        )
    )
    ctx.upstreams.register(
        UpstreamConfig(
            "newsapi",
            settings.newsapi_base_url,
            budget=budgets.newsapi_per_day,
            budget_window_s=DAY_S,
            api_key=settings.newsapi_api_key,
            api_key_param=NewsApiEverything.api_key_param,
        )
    )
    for name, url in (
        ("coindesk", settings.rss_coindesk_url),
        ("cointelegraph", settings.rss_cointelegraph_url),
        ("decrypt", settings.rss_decrypt_url),
    ):
        ctx.upstreams.register(UpstreamConfig(name, url, budget=budgets.default_per_min))


def build_sources(ctx: ServiceContext) -> list[tuple[NewsSource, float]]:
    """Every source with its poll interval; a keyed source without its key is left out (and logged)."""
    settings, client = ctx.settings, ctx.upstreams
    sources: list[tuple[NewsSource, float]] = [
        (CoinDeskRss(client), settings.news_poll_rss_s),
        (CointelegraphRss(client), settings.news_poll_rss_s),
        (DecryptRss(client), settings.news_poll_rss_s),
    ]
    if settings.cryptopanic_api_key:
        sources.append((CryptoPanicPosts(client), settings.news_poll_cryptopanic_s))
    if settings.newsapi_api_key:
        sources.append((NewsApiEverything(client), settings.news_poll_newsapi_s))
    return sources


async def setup(ctx: ServiceContext) -> NewsState:
    register_upstreams(ctx)
    retention_s = ctx.settings.news_retention_s
    store = NewsStore(ctx.redis, retention_s)
    wake = asyncio.Event()
    state = NewsState(
        store=store,
        ingestor=Ingestor(store, ctx.redis, build_sources(ctx), wake),
        scorer=Scorer(store, ctx.redis, ctx.bus, wake, ctx.settings.news_score_retry_s),
        relay=Relay(store, ctx.bus),
        rebuilder=store_rebuild(store, ctx.redis, ctx.bus),
        pages=PageMemo(store, ctx.settings.ttl.news_page),
    )

    async def declare_stream() -> None:
        await ctx.bus.ensure_stream(news_stream(ctx.settings))

    ctx.bus.on_connect(declare_stream)
    state.rebuilder.start()
    state.ingestor.start()
    state.scorer.start()
    state.relay.start()
    ctx.health_checks["sources"] = sources_health(state)
    return state


def sources_health(state: NewsState) -> HealthCheck:
    async def check() -> ComponentHealth:
        report = status_report(state.ingestor)
        answered = any(item["last_success_ms"] for item in report.values())
        failing = all(item["last_error"] for item in report.values()) if report else True
        backlog: int | None = None
        outbox: int | None = None
        with contextlib.suppress(RedisDown):
            backlog, outbox = await state.store.count_unscored(), await state.store.count_pending_events()
        return ComponentHealth(
            status="down" if failing and not answered else "up",
            detail={
                "sources": report,
                "unscored": backlog,
                "scoring": state.scorer.last_error,
                "events_pending": outbox,
                "events": state.relay.last_error,
                "rebuild": state.rebuilder.last_error,
                "rebuilt_stories": state.rebuilder.last_restored,
            },
        )

    return check


async def teardown(ctx: ServiceContext) -> None:
    if isinstance(ctx.state, NewsState):
        await ctx.state.ingestor.stop()
        await ctx.state.scorer.stop()
        await ctx.state.relay.stop()
        await ctx.state.rebuilder.stop()


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return create_service_app(
        "news",
        settings or get_settings(),
        routers=[router, compat.router],
        setup=setup,
        teardown=teardown,
        transport=transport,
        description=__doc__ or "",
    )
