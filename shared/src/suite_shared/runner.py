"""Run a service under uvicorn with the suite's settings (used by each service's `__main__`)."""

from __future__ import annotations

import os

import uvicorn

from .logs import configure_logging


def run_service(name: str, factory: str) -> None:
    level = os.environ.get("LOG_LEVEL", "info")
    configure_logging(level)
    os.environ.setdefault("SERVICE_NAME", name)
    uvicorn.run(
        factory,
        factory=True,
        host=os.environ.get("SUITE_HOST", "127.0.0.1"),
        port=int(os.environ.get(f"{name.upper()}_PORT", "8000")),
        log_level=level.lower(),
        access_log=False,
        ws_per_message_deflate=False,
        log_config=None,
    )
