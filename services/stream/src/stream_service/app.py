"""The stream service: WebSocket fan-out of market, news and signal events from NATS.

One NATS subscription per subject pattern per replica; each event serialised once and offered to the
subscribed connections' bounded outboxes, so a slow client never delays the others.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings
from suite_shared.tasks import cancel_all

from . import gcpolicy
from .hub import Hub
from .sessions import router, streamed_pairs


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    app: FastAPI

    async def setup(ctx: ServiceContext) -> None:
        app.state.hub = Hub()
        app.state.streamed = streamed_pairs(ctx.settings.ingest_symbols)
        gcpolicy.install()
        app.state.gc_task = asyncio.create_task(gcpolicy.govern(), name="gc-policy")

        async def subscribe() -> None:
            await app.state.hub.start(ctx.bus, ctx.settings.stream_resume_window_s, ctx.settings.news_retention_s)

        ctx.bus.on_connect(subscribe)

    async def teardown(ctx: ServiceContext) -> None:
        await cancel_all([app.state.gc_task])

    app = create_service_app(
        "stream",
        settings or get_settings(),
        routers=[router],
        setup=setup,
        teardown=teardown,
        transport=transport,
        description=__doc__ or "",
    )
    return app
