"""Who a request is for: the client id the request guards (guards.py) set for each request, readable by any
layer below (the cache's miss allowance, the upstream budgets' per-client share). Work done for no client
(NATS requests, background jobs) has none."""

from __future__ import annotations

from contextvars import ContextVar

CLIENT: ContextVar[str | None] = ContextVar("client", default=None)


def current_client() -> str | None:
    return CLIENT.get()
