"""Alternative.me's Fear & Greed Index (`GET /fng/?limit=1`): the one upstream of the global reading."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from suite_shared.providers import Fetcher, UpstreamRequest


class FearGreed(BaseModel):
    value: int
    classification: str
    as_of: int  # ms: the day the reading is for, as Alternative.me stamps it


class AlternativeMeFearGreed(Fetcher[None, FearGreed]):
    name = "alternative_me"
    upstream = "alternative_me"

    def build_request(self, query: None) -> UpstreamRequest:
        return UpstreamRequest("/fng/", {"limit": 1})

    def transform(self, query: None, raw: Any) -> FearGreed:
        entry = raw["data"][0]
        value = int(entry["value"])
        if not 0 <= value <= 100:
            raise ValueError(f"index out of range: {value}")
        return FearGreed(
            value=value, classification=str(entry["value_classification"]), as_of=int(entry["timestamp"]) * 1000
        )
