"""Whale Alert API v1 imitation: `GET /status` and `GET /transactions` (`{"result": "success", "cursor",
"count", "transactions": [...]}`), errors as `{"result": "error", "message"}` with the HTTP status.

Transactions are the real recorded ones (2019, see DATA_SOURCES.md) replayed in a loop, each shifted so the
recording's spacing repeats every two hours up to now, plus a synthetic stream (one every ~7 minutes between
known exchange wallets and unknown ones) priced with the sandbox's live prices. The free plan's rules hold:
an API key is required, `start` at most one hour back, `min_value` at least 500 000 USD, `limit` at most 100.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..chain_synth import digest, unit
from ..clock import now_ms
from ..market_universe import coins, price_at

PREFIX = "/whale-alert/v1"
router = APIRouter()

REPLAY_PERIOD_S = 7200
SYNTHETIC_EVERY_S = 420
FREE_PLAN_HISTORY_S = 3600
OWNERS = [
    ("binance", "exchange", "3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be"),
    ("coinbase", "exchange", "71660c4005ba85c37ccec55d0c4493e66fe775d3"),
    ("kraken", "exchange", "2910543af39aba0cd09dbb2d50200b3e800a63d2"),
    ("", "unknown", ""),
]
SYNTHETIC_ASSETS = [("bitcoin", "btc", "BTC"), ("ethereum", "eth", "ETH"), ("ethereum", "usdt", "USDT")]


def _data(name: str) -> Any:
    return json.loads(resources.files(__package__.rsplit(".", 1)[0]).joinpath("data", "whale_alert", name).read_text())


@lru_cache(maxsize=1)
def recorded() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = _data("v1_transactions.json")["transactions"]
    return rows


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"result": "error", "message": message}, status_code=status)


@router.get("/status", response_model=None)
async def status(api_key: str | None = None) -> Any:
    if not api_key:
        return _error(401, "invalid api_key")
    return _data("v1_status.json")


@router.get("/transactions", response_model=None)
async def transactions(
    api_key: str | None = None,
    start: int | None = None,
    end: int | None = None,
    cursor: str | None = None,
    min_value: int = 500_000,
    limit: int = 100,
    currency: str | None = None,
) -> Any:
    now_s = now_ms() // 1000
    if not api_key:
        return _error(401, "invalid api_key")
    if start is None:
        return _error(400, "start parameter is required")
    if start < now_s - FREE_PLAN_HISTORY_S:
        return _error(400, "start parameter is too far back in time; the maximum for your plan is 3600 seconds")
    if min_value < 500_000:
        return _error(400, "min_value is too low; the minimum for your plan is 500000 USD")
    if not 1 <= limit <= 100:
        return _error(400, "limit must be between 1 and 100")
    last = min(end or now_s, now_s)
    rows = [
        row
        for row in _replayed(start, last) + _synthetic(start, last)
        if row["amount_usd"] >= min_value and (currency is None or row["symbol"] == currency.lower())
    ]
    rows.sort(key=lambda row: (row["timestamp"], row["id"]))
    if cursor:
        rows = [row for row in rows if f"{row['timestamp']}-{row['id']}" > cursor]
    page = rows[:limit]
    body: dict[str, Any] = {"result": "success", "count": len(page)}
    if page:
        body["cursor"] = f"{page[-1]['timestamp']}-{page[-1]['id']}"
        body["transactions"] = page
    return body


def _replayed(start_s: int, end_s: int) -> list[dict[str, Any]]:
    """Recorded transactions, their offsets within the recording repeated every REPLAY_PERIOD_S."""
    rows = recorded()
    first = min(row["timestamp"] for row in rows)
    out = []
    for cycle in range(start_s // REPLAY_PERIOD_S - 1, end_s // REPLAY_PERIOD_S + 1):
        for row in rows:
            moment = cycle * REPLAY_PERIOD_S + (row["timestamp"] - first) % REPLAY_PERIOD_S
            if start_s <= moment <= end_s:
                out.append({**row, "id": f"{row['id']}{cycle % 1000:03d}", "timestamp": moment})
    return out


def _synthetic(start_s: int, end_s: int) -> list[dict[str, Any]]:
    by_symbol = {coin.symbol: coin for coin in coins()}
    out = []
    for slot in range(start_s // SYNTHETIC_EVERY_S, end_s // SYNTHETIC_EVERY_S + 1):
        moment = slot * SYNTHETIC_EVERY_S + int(unit("whale", slot) * SYNTHETIC_EVERY_S)
        if not start_s <= moment <= end_s:
            continue
        chain, symbol, asset = SYNTHETIC_ASSETS[int(unit("whale", slot, "asset") * len(SYNTHETIC_ASSETS))]
        usd = 500_000 * 10 ** (2.3 * unit("whale", slot, "usd"))
        price = price_at(by_symbol[asset], moment * 1000)
        out.append(
            {
                "blockchain": chain,
                "symbol": symbol,
                "id": f"9{slot}",
                "transaction_type": "transfer",
                "hash": digest("whale", slot),
                "from": _party(slot, "from"),
                "to": _party(slot, "to"),
                "timestamp": moment,
                "amount": round(usd / price, 4),
                "amount_usd": round(usd, 2),
                "transaction_count": 1,
            }
        )
    return out


def _party(slot: int, side: str) -> dict[str, str]:
    owner, owner_type, address = OWNERS[int(unit("whale", slot, side) * len(OWNERS))]
    party = {"address": address or digest("whale", slot, side)[:40], "owner_type": owner_type}
    if owner:
        party["owner"] = owner
    return party
