"""The market service: market lists, prices, candles, books, trades, stats and on-chain data."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from suite_shared.providers import ProviderChain
from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings
from suite_shared.upstream import UpstreamConfig

from .providers.coincap import CoinCapAssets
from .providers.coingecko import CoinGeckoMarkets
from .routes import market


def register_upstreams(ctx: ServiceContext) -> None:
    settings, budgets = ctx.settings, ctx.settings.budgets
    ctx.upstreams.register(UpstreamConfig(
        "coingecko", settings.coingecko_base_url, budget=budgets.coingecko_per_min,
        api_key=settings.coingecko_api_key, api_key_header="x-cg-demo-api-key"))
    coincap_auth = {"Authorization": f"Bearer {settings.coincap_api_key}"} if settings.coincap_api_key else {}
    ctx.upstreams.register(UpstreamConfig(
        "coincap", settings.coincap_base_url, budget=budgets.default_per_min, headers=coincap_auth))


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or get_settings()
    app: FastAPI

    async def setup(ctx: ServiceContext) -> None:
        register_upstreams(ctx)
        app.state.market_chain = ProviderChain("market", [CoinGeckoMarkets(ctx.upstreams), CoinCapAssets(ctx.upstreams)])

    app = create_service_app("market", settings, routers=[market.router], setup=setup, transport=transport,
                             description=__doc__ or "")
    return app
