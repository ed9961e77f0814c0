"""The documents the services exchange over NATS, one pydantic model per subject (see `topics.py`).

`market` holds the live market events and the market service's request/reply bodies, `news` the stored
and scored articles, `ai` sentiment scoring and signals, `sentiment` the per-symbol aggregate. Every reply
derives from `Reply`, so an answer can always carry the contract's error code instead of data.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class RequestError(BaseModel):
    code: str = Field(description="the contract's error code, e.g. INVALID_SYMBOL")
    message: str


class Reply(BaseModel):
    """Base of every request/reply answer: the data, or `error` saying why there is none."""

    error: RequestError | None = None
