"""The contract's response bodies: success envelopes with `timestamp` and `meta`, and the error envelope.

Endpoints declare a subclass of `Envelope` with their payload key (`items`, `data`, `news`, ...) so the
OpenAPI document shows the real shape, and build `Meta` from what the cache and provider chain report.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

CacheStatus = Literal["hit", "miss", "stale", "coalesced"]


def now_ms() -> int:
    return int(time.time() * 1000)


class Meta(BaseModel):
    """Provenance of a response: who served it, what was tried, and how old the data is."""

    source: str | None = Field(None, description="provider that served the data")
    sources_tried: list[str] = Field(default_factory=list, description="providers tried, in order")
    cache: CacheStatus | None = None
    age_ms: int | None = Field(None, description="age of the data when served")
    stale: bool = Field(False, description="true only when serving a last-good value after upstream failure")
    as_of: int | None = Field(None, description="epoch ms of the underlying data")


class Envelope(BaseModel):
    """Base of every success body; subclasses add their payload key."""

    model_config = ConfigDict(extra="allow")

    success: Literal[True] = True
    timestamp: int = Field(default_factory=now_ms)
    meta: Meta = Field(default_factory=Meta)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(BaseModel):
    """The one error body every service and the gateway send."""

    success: Literal[False] = False
    error: ErrorDetail
    timestamp: int = Field(default_factory=now_ms)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in {
        400: "Invalid parameter (INVALID_PARAMETER)",
        404: "Unknown symbol (INVALID_SYMBOL) or resource (NOT_FOUND)",
        429: "Rate limited (RATE_LIMITED), see Retry-After",
        502: "Upstream answered badly (UPSTREAM_ERROR)",
        503: "Every source failed and nothing stale to serve (UPSTREAM_UNAVAILABLE)",
        504: "Upstream timed out (UPSTREAM_TIMEOUT)",
    }.items()
}


class JSONBody(JSONResponse):
    """A JSON response rendered with orjson, for bodies built by hand (errors, health, merged docs)."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson refuses integers beyond 64 bits, e.g. bad input echoed in an error's details
            return json.dumps(content, separators=(",", ":"), default=str).encode()
