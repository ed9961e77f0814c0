"""On-chain data (transactions by address, whale alerts): its own router and providers in the market service."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from suite_shared.service import ServiceContext

router = APIRouter(tags=["blockchain"])


async def setup(ctx: ServiceContext, app: FastAPI) -> None:
    """Register the on-chain upstreams and build the provider chains (called from the app's setup)."""
