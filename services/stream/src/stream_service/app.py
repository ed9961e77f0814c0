"""The stream service: WebSocket fan-out of market, news and signal events from NATS.

One NATS consumer per channel per replica; each event serialised once and offered to the subscribed
connections' bounded outboxes, so a slow client never delays the others.
"""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from suite_shared import gcpolicy
from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings
from suite_shared.tasks import cancel_all

from . import loop_lag
from .hub import Hub
from .metrics import GC_PAUSE
from .sessions import router
from .state import Admission, StreamService


async def setup(ctx: ServiceContext) -> StreamService:
    settings = ctx.settings
    service = StreamService(
        ctx,
        Hub(),
        frozenset(str(pair) for pair in settings.ingest_symbols),
        Admission(settings.stream_max_connections_per_client, settings.stream_max_connections),
    )
    # The service factory governs the collector; the stream keeps its own pause metric for its alerts.
    gcpolicy.install(lambda generation, seconds: GC_PAUSE.labels(str(generation)).observe(seconds), freeze=False)

    async def subscribe() -> None:
        await service.hub.start(ctx.bus, settings)

    ctx.bus.on_connect(subscribe)
    service.tasks.append(asyncio.create_task(loop_lag.watch(), name="loop-lag"))
    return service


async def teardown(ctx: ServiceContext) -> None:
    if isinstance(ctx.state, StreamService):
        await cancel_all(ctx.state.tasks)


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return create_service_app(
        "stream",
        settings or get_settings(),
        routers=[router],
        setup=setup,
        teardown=teardown,
        transport=transport,
        description=__doc__ or "",
    )
