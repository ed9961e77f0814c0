"""Run a service under uvicorn with the suite's settings (used by each service's `__main__`)."""

from __future__ import annotations

import os

import uvicorn

from .logs import configure_logging


def run_service(name: str, factory: str, ws_max_size: int = 64 * 1024) -> None:
    """`ws_max_size`: the largest WebSocket message the server reads; a larger one is refused from its frame
    header, before it is buffered (close 1009)."""
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
        ws_max_size=ws_max_size,
        log_config=None,
    )
