"""Upstream adapters of the market service, one module per upstream."""
