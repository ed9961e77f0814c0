"""Service health: liveness plus the state of each dependency.

`healthy` when every dependency answers; `degraded` when Redis or NATS is down but the service still
answers (from in-process state); `unhealthy` when a critical component (e.g. a model) is missing, in
which case `/health` answers 503 so orchestrators and the gateway take the replica out.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["healthy", "degraded", "unhealthy"]


class ComponentHealth(BaseModel):
    status: Literal["up", "down"]
    critical: bool = False
    detail: dict[str, Any] = Field(default_factory=dict)


class ServiceHealth(BaseModel):
    status: Status
    service: str
    version: str
    uptime: float = Field(description="seconds since the process started")
    data_source: str
    dependencies: dict[str, ComponentHealth]


HealthCheck = Callable[[], Awaitable[ComponentHealth]]


async def evaluate(
    service: str, version: str, data_source: str, started_at: float, checks: dict[str, HealthCheck]
) -> ServiceHealth:
    results = {name: await check() for name, check in checks.items()}
    down = [result for result in results.values() if result.status == "down"]
    status: Status = "healthy"
    if any(result.critical for result in down):
        status = "unhealthy"
    elif down:
        status = "degraded"
    return ServiceHealth(
        status=status,
        service=service,
        version=version,
        uptime=round(time.monotonic() - started_at, 3),
        data_source=data_source,
        dependencies=results,
    )
