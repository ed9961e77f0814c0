"""The compatibility paths: the README's table is exactly the deprecated operations the services serve, each
naming its canonical endpoint; and through the real gateway a compatibility call is served from the canonical
endpoint's cache (no upstream call of its own) with the same data."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from routing import served_apps

from harness import Suite

ROOT = Path(__file__).resolve().parents[2]


def readme_table() -> dict[str, str]:
    """The README's "Compatibility with the Dreammaker frontend" table: frontend operation → canonical."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Compatibility with the Dreammaker frontend", 1)[1].split("\n**On contract paths**", 1)[0]
    return dict(re.findall(r"^\| `((?:GET|POST) [^`]+)` \| `((?:GET|POST) [^`]+)` \|", section, re.MULTILINE))


def deprecated_operations() -> dict[str, str]:
    """Every deprecated operation the services serve → the canonical endpoint it names (x-canonical)."""
    found: dict[str, str] = {}
    for app in served_apps().values():
        for path, operations in app.openapi()["paths"].items():
            for method, operation in operations.items():
                if operation.get("deprecated"):
                    found[f"{method.upper()} {path.replace(':path', '')}"] = operation["x-canonical"]
    return found


def test_readme_table_matches_the_compatibility_routes_that_exist() -> None:
    table = readme_table()
    assert len(table) >= 13
    assert table == deprecated_operations()


def test_each_canonical_endpoint_is_served_and_not_deprecated() -> None:
    canonical = set(deprecated_operations().values())
    served = {
        f"{method.upper()} {path.replace(':path', '')}": operation
        for app in served_apps().values()
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    }
    for endpoint in canonical:
        assert endpoint in served and not served[endpoint].get("deprecated"), endpoint


# (canonical request, compatibility request, upstreams the canonical one may call, what must agree)
PAIRS: list[tuple[str, str, tuple[str, ...], Callable[[Any, Any], bool]]] = [
    (
        "/api/market?limit=20",
        "/api/coins/top?limit=20",
        ("coingecko", "coincap"),
        lambda a, b: a["items"] == b["coins"],
    ),
    (
        "/api/market?limit=20",
        "/api/market/top?limit=20",
        ("coingecko", "coincap"),
        lambda a, b: a["items"] == b["items"],
    ),
    (
        "/api/ohlcv?symbol=BTCUSDT&timeframe=1h&limit=50",
        "/api/ohlcv/btcusdt?timeframe=1h&limit=50",
        ("binance", "kraken"),
        lambda a, b: a["data"] == b["data"],
    ),
    (
        "/api/ohlcv?symbol=ETHUSDT&timeframe=4h&limit=30",
        "/api/service/history?symbol=ETHUSDT&interval=4h&limit=30",
        ("binance", "kraken"),
        lambda a, b: [c["c"] for c in a["data"]] == [bar["close"] for bar in b["data"]],
    ),
    (
        "/api/ohlcv?symbol=BTC&timeframe=1h&limit=100",
        "/api/market/ohlc?symbol=BTC",
        ("binance", "kraken"),
        lambda a, b: a["data"] == b["data"],
    ),
    (
        "/api/price/BTC?convert=usdt",
        "/api/service/rate?pair=BTC%2FUSDT",
        ("binance", "kraken"),
        lambda a, b: a["price"] == b["price"],
    ),
    ("/api/price/ETH", "/api/market-data/ETH", ("binance", "kraken"), lambda a, b: a["price"] == b["data"]["price"]),
    (
        "/api/sentiment/symbol/BTC",
        "/api/sentiment/asset/BTC",
        (),
        lambda a, b: a["sentiment_score"] == b["sentiment_score"] and b["sentiment_label"] == a["sentiment"],
    ),
    ("/api/models", "/api/models/status", (), lambda a, b: a["models"] == b["models"]),
]


@pytest.mark.parametrize(("canonical", "compat", "upstreams", "agree"), PAIRS, ids=[pair[1] for pair in PAIRS])
def test_compatibility_call_is_served_from_the_canonical_cache(
    sandbox: Suite,
    canonical: str,
    compat: str,
    upstreams: tuple[str, ...],
    agree: Callable[[Any, Any], bool],
) -> None:
    with httpx.Client(base_url=sandbox.gateway_url, timeout=30) as client:
        quiet = False
        for _attempt in range(3):  # background work or a lifetime running out on a loaded machine: try again
            first = client.get(canonical)
            assert first.status_code == 200, first.text
            before = {name: sandbox.calls(name) for name in upstreams}
            started = time.monotonic()
            second = client.get(compat)
            assert second.status_code == 200, second.text
            quiet = {name: sandbox.calls(name) for name in upstreams} == before
            if quiet and time.monotonic() - started < 1.0:
                break
        assert quiet, f"{compat} called {upstreams} itself instead of using {canonical}'s cache"
        if upstreams:
            assert second.json()["meta"]["cache"] == "hit"
        assert agree(first.json(), second.json())
