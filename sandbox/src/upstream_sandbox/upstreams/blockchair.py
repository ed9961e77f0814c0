"""Blockchair dashboards imitation: `GET /{bitcoin|ethereum}/dashboards/address/{address}`.

The body is `{"data": {address: {"address": {...}, "transactions"|"calls": [...]}}, "context": {...}}` as in
the real recording (see DATA_SOURCES.md); histories are synthetic (chain_synth.py). Blockchair answers an
invalid address with HTTP 400 and a `context.error`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from ..chain_synth import digest, history
from ..clock import now_ms

PREFIX = "/blockchair"
router = APIRouter()

ADDRESSES = {
    "bitcoin": re.compile(r"^(bc1[02-9ac-hj-np-z]{11,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$"),
    "ethereum": re.compile(r"^0x[0-9a-fA-F]{40}$"),
}
UNITS = {"bitcoin": 100_000_000, "ethereum": 10**18}


def _time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _context(code: int, started: int, error: str | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {
        "code": code,
        "source": "D",
        "limit": "100,100",
        "offset": "0,0",
        "time": (now_ms() - started) / 1000,
        "state": 860_000,
        "cache": {"live": True, "duration": 60, "since": _time(now_ms() // 1000)},
        "api": {
            "version": "2.0.95-sandbox",
            "last_major_update": "2024-07-19 00:00:00",
            "next_major_update": None,
            "documentation": "https://blockchair.com/api/docs",
            "notice": "sandbox: synthetic data",
        },
    }
    if error:
        context["error"] = error
    return context


@router.get("/{chain}/dashboards/address/{address}", response_model=None)
async def address_dashboard(
    chain: str, address: str, limit: int = Query(100, ge=0, le=10_000), offset: int = Query(0, ge=0)
) -> Any:
    started = now_ms()
    if chain not in ADDRESSES:
        return JSONResponse({"data": None, "context": _context(404, started, "Unknown chain")}, status_code=404)
    if not ADDRESSES[chain].match(address):
        return JSONResponse(
            {"data": None, "context": _context(400, started, "Invalid address format")}, status_code=400
        )
    rows = history(chain, address)
    window = rows[offset : offset + limit]
    unit = UNITS[chain]
    balance = sum((1 if row.incoming else -1) * int(row.amount * unit) for row in rows)
    summary = {
        "type": "pubkeyhash" if chain == "bitcoin" else "account",
        "balance": str(max(balance, 0)),
        "transaction_count": len(rows),
        "first_seen_receiving": _time(rows[-1].timestamp_s),
        "last_seen_receiving": _time(rows[0].timestamp_s),
    }
    if chain == "bitcoin":
        entry = {
            "address": summary,
            "transactions": [
                {
                    "block_id": 860_000 - i,
                    "hash": row.hash,
                    "time": _time(row.timestamp_s),
                    "balance_change": (1 if row.incoming else -1) * int(row.amount * unit),
                }
                for i, row in enumerate(window)
            ],
            "utxo": [],
        }
    else:
        entry = {
            "address": summary,
            "calls": [
                {
                    "block_id": 20_000_000 - i * 300,
                    "transaction_hash": "0x" + row.hash,
                    "index": "0",
                    "time": _time(row.timestamp_s),
                    "sender": ("0x" + row.counterparty_seed[:40]) if row.incoming else address,
                    "recipient": address if row.incoming else "0x" + row.counterparty_seed[:40],
                    "value": str(int(row.amount * unit)),
                    "value_usd": None,
                    "transferred": not row.failed,
                }
                for i, row in enumerate(window)
            ],
        }
    return {"data": {address: entry}, "context": _context(200, started) | {"block_hash": digest(started)}}
