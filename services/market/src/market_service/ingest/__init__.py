"""Live ingest: exchange streams normalised and published to Redis (latest values) and NATS (events)."""

from __future__ import annotations

from fastapi import FastAPI

from suite_shared.service import ServiceContext


async def start(ctx: ServiceContext, app: FastAPI) -> None:
    """Start the ingest worker and NATS responders in the background (called from the app's setup)."""


async def stop(ctx: ServiceContext, app: FastAPI) -> None:
    """Stop the worker, giving up its leader lease (called from the app's teardown)."""
