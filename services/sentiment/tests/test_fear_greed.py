"""The Fear & Greed words agree with Alternative.me's own classification of every reading it published."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sentiment_service.fear_greed import fear_greed_word

# Alternative.me's daily index 2022-12-15 … 2025-12-14, as recorded into the sandbox (sandbox/DATA_SOURCES.md).
RECORDED = (
    Path(__file__).resolve().parents[3]
    / "sandbox/src/upstream_sandbox/data/news/fear_greed_index_daily_2022-12-15_2025-12-14.csv"
)


def test_every_recorded_reading_gets_alternative_me_classification() -> None:
    with RECORDED.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 1000
    for row in rows:
        assert fear_greed_word(int(float(row["FNG_Index"]))) == row["Classification"].lower().replace(" ", "_"), row
    assert {row["Classification"] for row in rows} == {"Extreme Fear", "Fear", "Neutral", "Greed", "Extreme Greed"}


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (0, "extreme_fear"),
        (25, "extreme_fear"),
        (26, "fear"),
        (46, "fear"),
        (47, "neutral"),
        (54, "neutral"),
        (55, "greed"),
        (75, "greed"),
        (76, "extreme_greed"),
        (100, "extreme_greed"),
    ],
)
def test_band_edges(value: int, word: str) -> None:
    assert fear_greed_word(value) == word
