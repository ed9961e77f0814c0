"""The market service: market lists, prices, candles, books, trades, stats and on-chain data."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings

from . import ingest, onchain
from .chains import build_chains, register_upstreams
from .routes import exchange, market, ohlcv, providers, quotes, stats


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    settings = settings or get_settings()
    app: FastAPI

    async def setup(ctx: ServiceContext) -> None:
        register_upstreams(ctx)
        app.state.chains = build_chains(ctx)
        await onchain.setup(ctx, app)
        await ingest.start(ctx, app)

    async def teardown(ctx: ServiceContext) -> None:
        await ingest.stop(ctx, app)

    app = create_service_app(
        "market",
        settings,
        setup=setup,
        teardown=teardown,
        transport=transport,
        description=__doc__ or "",
        routers=[
            market.router,
            quotes.router,
            ohlcv.router,
            exchange.router,
            stats.router,
            providers.router,
            onchain.router,
        ],
    )
    return app
