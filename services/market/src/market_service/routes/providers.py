"""GET /api/providers: each upstream's health, last success, errors and remaining budget (for operators).

Breaker state and counters are this replica's (`replica` says which); budgets are shared through Redis.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from suite_shared.deps import Context
from suite_shared.envelope import Envelope, Meta, now_ms

router = APIRouter(tags=["operations"])


class Budget(BaseModel):
    limit: int
    window_s: int
    remaining: int


class ProviderStatus(BaseModel):
    name: str
    status: Literal["ok", "failing", "circuit_open", "unused"]
    circuit: Literal["closed", "open", "half_open"]
    last_success: int | None = Field(None, description="epoch ms")
    last_failure: int | None = None
    last_error: str | None = None
    successes: int
    errors: dict[str, int] = Field(description="failures by class since start")
    budget: Budget


class ProvidersResponse(Envelope):
    replica: str
    providers: list[ProviderStatus]


def _status(circuit: str, last_success: int | None, last_failure: int | None) -> str:
    if circuit != "closed":
        return "circuit_open"
    if last_success is None and last_failure is None:
        return "unused"
    return "failing" if (last_failure or 0) > (last_success or 0) else "ok"


@router.get("/api/providers", response_model=ProvidersResponse)
async def get_providers(ctx: Context) -> ProvidersResponse:
    client = ctx.upstreams
    providers = []
    for name, config in client.configs.items():
        stats, circuit = client.stats[name], client.breakers[name].state
        providers.append(
            ProviderStatus(
                name=name,
                status=_status(circuit, stats.last_success_ms, stats.last_failure_ms),
                circuit=circuit,
                last_success=stats.last_success_ms,
                last_failure=stats.last_failure_ms,
                last_error=stats.last_error,
                successes=stats.successes,
                errors=dict(stats.failures),
                budget=Budget(
                    limit=config.budget,
                    window_s=config.budget_window_s,
                    remaining=await client.budgets[name].remaining(),
                ),
            )
        )
    return ProvidersResponse(
        replica=f"{socket.gethostname()}:{os.getpid()}",
        providers=providers,
        meta=Meta(source="market", sources_tried=["market"], cache="miss", age_ms=0, as_of=now_ms()),
    )
