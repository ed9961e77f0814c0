"""Fault switches and call counters for the sandbox, keyed by upstream name.

Tests flip a switch (`POST /_sandbox/faults`) to make one upstream answer 429, 5xx, time out, slow down or
send a malformed body, and read `/_sandbox/calls` to count how many requests really reached an upstream
(how single-flight and fallback are proven). The switches live in memory: one sandbox process per suite.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

FaultMode = Literal["status", "timeout", "slow", "malformed", "drop_ws"]


class Fault(BaseModel):
    """One switch: what an upstream does instead of answering normally."""

    upstream: str = Field(description="first path segment of the upstream, e.g. 'coingecko'")
    mode: FaultMode
    status: int = Field(500, ge=400, le=599, description="HTTP status for mode=status")
    delay_ms: int = Field(0, ge=0, le=120_000, description="added latency for mode=slow")
    times: int | None = Field(None, ge=1, description="apply to the next N calls only; None = until cleared")
    path_contains: str | None = Field(None, description="only calls whose path contains this")


@dataclass
class FaultBoard:
    """The current switches and the call counters."""

    faults: dict[str, Fault] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)  # path?query, to tell one caller's calls apart

    def set(self, fault: Fault) -> None:
        self.faults[fault.upstream] = fault

    def clear(self, upstream: str | None = None) -> None:
        if upstream is None:
            self.faults.clear()
        else:
            self.faults.pop(upstream, None)

    def reset_calls(self) -> None:
        self.calls.clear()
        self.paths.clear()
        self.requests.clear()

    def record(self, upstream: str, path: str, query: str = "") -> None:
        self.calls[upstream] += 1
        self.paths[path] += 1
        self.requests[f"{path}?{query}" if query else path] += 1

    def take(self, upstream: str, path: str) -> Fault | None:
        """The fault to apply to this call, consuming one of its `times`."""
        fault = self.faults.get(upstream)
        if fault is None or (fault.path_contains and fault.path_contains not in path):
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(upstream, None)
        return fault


BOARD = FaultBoard()
TIMEOUT_SLEEP_S = 120.0
MALFORMED_BODY = b'{"this is": not valid json'


class FaultMiddleware:
    """Counts every upstream call and applies the upstream's fault switch, if any, before routing."""

    def __init__(self, app: ASGIApp, board: FaultBoard = BOARD) -> None:
        self.app = app
        self.board = board

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        upstream = path.strip("/").split("/", 1)[0]
        if not upstream or upstream.startswith("_sandbox"):
            await self.app(scope, receive, send)
            return
        self.board.record(upstream, path, scope.get("query_string", b"").decode("latin-1"))
        fault = self.board.take(upstream, path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            if fault.mode == "slow":
                await asyncio.sleep(fault.delay_ms / 1000)
                await self.app(scope, receive, send)
            else:
                await send({"type": "websocket.close", "code": 1011})
            return
        await self._apply_http(fault, scope, receive, send)

    async def _apply_http(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.mode == "slow":
            await asyncio.sleep(fault.delay_ms / 1000)
            await self.app(scope, receive, send)
        elif fault.mode == "timeout":
            await asyncio.sleep(TIMEOUT_SLEEP_S)
            await Response(status_code=504)(scope, receive, send)
        elif fault.mode == "malformed":
            await Response(MALFORMED_BODY, 200, media_type="application/json")(scope, receive, send)
        else:
            headers = {"Retry-After": "30"} if fault.status in (418, 429) else {}
            body = b'{"error": "sandbox fault injected"}'
            await Response(body, fault.status, headers=headers, media_type="application/json")(scope, receive, send)
