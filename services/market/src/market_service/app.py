"""The market service: market lists, prices, candles, books, trades, stats and on-chain data."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings

from . import ingest, onchain, responders
from .chains import build_chains, register_upstreams
from .routes import compat, exchange, market, ohlcv, providers, quotes, stats
from .state import MarketState


async def setup(ctx: ServiceContext) -> MarketState:
    register_upstreams(ctx)
    chains = build_chains(ctx)
    state = MarketState(chains=chains, onchain=onchain.setup(ctx), ingest=ingest.start(ctx, chains))

    async def serve() -> None:
        await responders.start(ctx, chains)

    ctx.bus.on_connect(serve)
    return state


async def teardown(ctx: ServiceContext) -> None:
    if isinstance(ctx.state, MarketState) and ctx.state.ingest is not None:
        await ctx.state.ingest.stop()


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return create_service_app(
        "market",
        settings or get_settings(),
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
            compat.router,  # last: /api/ohlcv/{symbol} must not shadow a canonical path
        ],
    )
