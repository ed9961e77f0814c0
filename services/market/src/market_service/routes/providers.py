"""GET /api/providers: each upstream's health for everyone, and the operator's detail behind an admin key.

Breaker state and counters are this replica's (`replica` says which); budgets are shared through Redis.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from suite_shared.deps import AdminCaller, Context
from suite_shared.envelope import Envelope, Meta, now_ms

router = APIRouter(tags=["operations"])


class Budget(BaseModel):
    limit: int
    window_s: int
    remaining: int


class ProviderStatus(BaseModel):
    name: str
    status: Literal["ok", "failing", "circuit_open", "unused"]
    last_success: int | None = Field(None, description="epoch ms")
    budget_level: Literal["ok", "low", "exhausted"] = Field(
        description="the shared budget left: ok (over a quarter), low, or exhausted"
    )
    # Operator detail, only with an admin key:
    circuit: Literal["closed", "open", "half_open"] | None = None
    last_failure: int | None = None
    last_error: str | None = None
    successes: int | None = None
    errors: dict[str, int] | None = Field(None, description="failures by class since start")
    budget: Budget | None = None


class ProvidersResponse(Envelope):
    providers: list[ProviderStatus]
    replica: str | None = Field(None, description="which replica answered (admin key only)")


def _status(circuit: str, last_success: int | None, last_failure: int | None) -> str:
    if circuit != "closed":
        return "circuit_open"
    if last_success is None and last_failure is None:
        return "unused"
    return "failing" if (last_failure or 0) > (last_success or 0) else "ok"


def budget_level(remaining: int, limit: int) -> Literal["ok", "low", "exhausted"]:
    if remaining <= 0:
        return "exhausted"
    return "ok" if remaining * 4 > limit else "low"


@router.get("/api/providers", response_model=ProvidersResponse, response_model_exclude_none=True)
async def get_providers(ctx: Context, admin: AdminCaller) -> ProvidersResponse:
    """Each upstream's state, last success and a coarse budget level. With an admin key: circuit state,
    errors, exact budgets and the replica — the detail an attacker would use to time a budget drain."""
    client = ctx.upstreams
    providers = []
    for name, config in client.configs.items():
        stats, circuit = client.stats[name], client.breakers[name].state
        remaining = await client.budgets[name].remaining()
        status = ProviderStatus(
            name=name,
            status=_status(circuit, stats.last_success_ms, stats.last_failure_ms),
            last_success=stats.last_success_ms,
            budget_level=budget_level(remaining, config.budget),
        )
        if admin:
            status = status.model_copy(
                update={
                    "circuit": circuit,
                    "last_failure": stats.last_failure_ms,
                    "last_error": stats.last_error,
                    "successes": stats.successes,
                    "errors": dict(stats.failures),
                    "budget": Budget(limit=config.budget, window_s=config.budget_window_s, remaining=remaining),
                }
            )
        providers.append(status)
    return ProvidersResponse(
        replica=f"{socket.gethostname()}:{os.getpid()}" if admin else None,
        providers=providers,
        meta=Meta(source="market", sources_tried=["market"], cache="miss", age_ms=0, as_of=now_ms()),
    )
