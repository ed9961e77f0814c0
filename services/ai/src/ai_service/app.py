"""The AI service: ONNX models for headline sentiment, price forecasts, trading signals and analysis.

Models are loaded once at start-up (one ONNX Runtime session each, see registry.py). A model that cannot
be loaded makes the replica unhealthy and its endpoints answer 503; the service itself keeps running.
Candles and market figures come from the market service over NATS, news sentiment from the sentiment
service; `ai.sentiment.score` is answered on NATS in queue group "ai"; a 1h signal per pair is published on
`ai.signal` each hour (publisher.py).
Training code lives in `services/ai/training/` and is never imported here.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from fastapi import FastAPI

from suite_shared.service import ServiceContext, create_service_app
from suite_shared.settings import Settings, get_settings

from . import compat, publisher, responders, routes
from .engine import AiEngine
from .registry import ARTIFACTS, load_registry


def model_directory() -> Path:
    """`AI_MODEL_DIR` overrides the shipped artifacts folder (used to test a broken deployment)."""
    configured = os.environ.get("AI_MODEL_DIR")
    return Path(configured) if configured else ARTIFACTS


def create_app(
    settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None, model_dir: Path | None = None
) -> FastAPI:

    async def setup(ctx: ServiceContext) -> AiEngine:
        registry = load_registry(model_dir or model_directory())
        ctx.health_checks["models"] = registry.health
        ctx.health_checks["sentiment_model"] = registry.sentiment_health
        engine = AiEngine(ctx, registry)

        async def serve_nats() -> None:
            await responders.start(engine)
            await publisher.start(engine)

        ctx.bus.on_connect(serve_nats)
        return engine

    return create_service_app(
        "ai",
        settings or get_settings(),
        routers=[routes.router, compat.router],
        setup=setup,
        transport=transport,
        description=__doc__ or "",
    )
