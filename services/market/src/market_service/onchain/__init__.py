"""On-chain data (transactions by address, whale alerts): its own router and providers in the market service."""

from __future__ import annotations

from suite_shared.service import ServiceContext

from .chains import OnchainChains, build_chains, register_upstreams
from .routes import router

__all__ = ["router", "setup"]


def setup(ctx: ServiceContext) -> OnchainChains:
    """Register the on-chain upstreams and build the provider chains (called from the app's setup)."""
    register_upstreams(ctx)
    return build_chains(ctx)
