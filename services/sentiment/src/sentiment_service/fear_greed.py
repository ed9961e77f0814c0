"""Alternative.me's Fear & Greed Index (`GET /fng/?limit=1`): the one upstream of the global reading, and the
index's own vocabulary (`extreme_fear` … `extreme_greed`) for a value."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from suite_shared.providers import Fetcher, UpstreamRequest

FearGreedWord = Literal["extreme_fear", "fear", "neutral", "greed", "extreme_greed"]
# Alternative.me's own classification bands (upper bound of each, inclusive), as every daily reading it
# published from 2022-12 to 2025-12 is classified (services/sentiment/tests/test_fear_greed.py checks them
# against that record).
BANDS: tuple[tuple[int, FearGreedWord], ...] = (
    (25, "extreme_fear"),
    (46, "fear"),
    (54, "neutral"),
    (75, "greed"),
    (100, "extreme_greed"),
)


def fear_greed_word(value: int) -> FearGreedWord:
    """The index's classification of a value 0–100, as a contract word (`Extreme Fear` → `extreme_fear`)."""
    return next(word for upper, word in BANDS if value <= upper)


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
