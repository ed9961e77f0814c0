"""On-chain data (transactions by address, whale alerts): its own router and providers in the market service."""

from __future__ import annotations

from fastapi import FastAPI

from suite_shared.service import ServiceContext

from .chains import build_chains, register_upstreams
from .routes import router

__all__ = ["router", "setup"]


async def setup(ctx: ServiceContext, app: FastAPI) -> None:
    """Register the on-chain upstreams and build the provider chains (called from the app's setup)."""
    register_upstreams(ctx)
    app.state.onchain_chains = build_chains(ctx)
