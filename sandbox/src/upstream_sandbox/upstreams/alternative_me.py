"""Alternative.me Fear & Greed imitation: `GET /fng/?limit=&format=&date_format=` replaying the real daily
values (2022-12-15 → 2025-12-14, MIT), shifted so the newest is today 00:00 UTC."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import APIRouter

from ..clock import DAY_MS, current_day_ms, now_ms

PREFIX = "/alternative-me"
router = APIRouter()

DATE_FORMATS = {"us": "%m-%d-%Y", "cn": "%Y-%m-%d", "kr": "%Y-%m-%d", "world": "%d-%m-%Y"}


@lru_cache(maxsize=1)
def _recorded() -> list[tuple[int, str, str]]:
    """(day ms, value, classification), newest first."""
    path = resources.files(__package__.rsplit(".", 1)[0]).joinpath(
        "data", "news", "fear_greed_index_daily_2022-12-15_2025-12-14.csv"
    )
    rows = list(csv.DictReader(path.read_text().splitlines()))
    parsed = [(_day_ms(row["Date"]), str(int(float(row["FNG_Index"]))), row["Classification"]) for row in rows]
    return sorted(parsed, reverse=True)


def _day_ms(date: str) -> int:
    return int(datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)


@router.get("/fng/")
async def fear_and_greed(limit: int = 1, format: str = "json", date_format: str = "") -> dict[str, Any]:
    rows = _recorded()
    offset = current_day_ms() - rows[0][0]
    chosen = rows if limit == 0 else rows[: max(limit, 1)]
    data = []
    for index, (day, value, label) in enumerate(chosen):
        shifted = (day + offset) // 1000
        stamp = (
            datetime.fromtimestamp(shifted, tz=UTC).strftime(DATE_FORMATS[date_format])
            if date_format in DATE_FORMATS
            else str(shifted)
        )
        entry = {"value": value, "value_classification": label, "timestamp": stamp}
        if index == 0:
            entry["time_until_update"] = str((current_day_ms() + DAY_MS - now_ms()) // 1000)
        data.append(entry)
    return {"name": "Fear and Greed Index", "data": data, "metadata": {"error": None}}
