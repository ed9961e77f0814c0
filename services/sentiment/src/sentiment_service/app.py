"""The sentiment service: Fear & Greed and per-symbol sentiment.

Foundation stage: the service starts, connects to NATS and Redis, and answers /health and /metrics;
its endpoints arrive with its own issue.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from suite_shared.service import create_service_app
from suite_shared.settings import Settings, get_settings


def create_app(settings: Settings | None = None, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    return create_service_app("sentiment", settings or get_settings(), transport=transport, description=__doc__ or "")
