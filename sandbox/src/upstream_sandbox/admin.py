"""The sandbox's own endpoints (`/_sandbox/...`): fault switches, call counters, health."""

from __future__ import annotations

from fastapi import APIRouter

from .faults import BOARD, Fault

router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok", "data_source": "sandbox"}


@router.post("/faults")
async def set_fault(fault: Fault) -> dict[str, object]:
    BOARD.set(fault)
    return {"faults": [f.model_dump() for f in BOARD.faults.values()]}


@router.get("/faults")
async def list_faults() -> dict[str, object]:
    return {"faults": [f.model_dump() for f in BOARD.faults.values()]}


@router.delete("/faults")
async def clear_faults(upstream: str | None = None) -> dict[str, object]:
    BOARD.clear(upstream)
    return {"faults": [f.model_dump() for f in BOARD.faults.values()]}


@router.get("/calls")
async def calls() -> dict[str, object]:
    return {"calls": dict(BOARD.calls), "paths": dict(BOARD.paths), "requests": dict(BOARD.requests)}


@router.delete("/calls")
async def reset_calls() -> dict[str, object]:
    BOARD.reset_calls()
    return {"calls": {}}
