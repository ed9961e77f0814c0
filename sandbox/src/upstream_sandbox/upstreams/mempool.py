"""mempool.space (esplora) imitation: `GET /address/{address}` and `/address/{address}/txs`.

Transactions are synthetic (chain_synth.py) in esplora's format; the newest may be unconfirmed. An invalid
address is a 400 with the text "Invalid Bitcoin address", as mempool.space answers.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from ..chain_synth import digest, history, unit

PREFIX = "/mempool/api"
router = APIRouter()

BITCOIN_ADDRESS = re.compile(r"^(bc1[02-9ac-hj-np-z]{11,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$")
SATOSHI = 100_000_000
PAGE = 25


def _address_of(seed: str) -> str:
    return "bc1q" + "".join(c for c in seed if c in "02345678acdefghjklmnpqrstuvwxyz")[:38]


@router.get("/address/{address}", response_model=None)
async def address_summary(address: str) -> Any:
    if not BITCOIN_ADDRESS.match(address):
        return PlainTextResponse("Invalid Bitcoin address", status_code=400)
    rows = history("bitcoin", address)
    funded = sum(int(row.amount * SATOSHI) for row in rows if row.incoming)
    spent = sum(int(row.amount * SATOSHI) for row in rows if not row.incoming)
    return {
        "address": address,
        "chain_stats": {
            "funded_txo_count": len(rows),
            "funded_txo_sum": funded,
            "spent_txo_count": len(rows) // 2,
            "spent_txo_sum": spent,
            "tx_count": len(rows),
        },
        "mempool_stats": {
            "funded_txo_count": 0,
            "funded_txo_sum": 0,
            "spent_txo_count": 0,
            "spent_txo_sum": 0,
            "tx_count": 0,
        },
    }


@router.get("/address/{address}/txs", response_model=None)
async def address_txs(address: str) -> Any:
    if not BITCOIN_ADDRESS.match(address):
        return PlainTextResponse("Invalid Bitcoin address", status_code=400)
    return [_tx(address, row, index == 0) for index, row in enumerate(history("bitcoin", address)[:PAGE])]


@router.get("/address/{address}/txs/chain/{last_txid}", response_model=None)
async def address_txs_after(address: str, last_txid: str) -> Any:
    if not BITCOIN_ADDRESS.match(address):
        return PlainTextResponse("Invalid Bitcoin address", status_code=400)
    rows = history("bitcoin", address)
    position = next((i for i, row in enumerate(rows) if row.hash == last_txid), len(rows))
    return [_tx(address, row, False) for row in rows[position + 1 : position + 1 + PAGE]]


def _tx(address: str, row: Any, newest: bool) -> dict[str, Any]:
    other = _address_of(row.counterparty_seed)
    value = int(row.amount * SATOSHI)
    fee = 500 + int(unit(row.hash, "fee") * 20_000)
    sender, receiver = (other, address) if row.incoming else (address, other)
    confirmed = not (newest and unit(row.hash, "pending") < 0.3)
    status: dict[str, Any] = {"confirmed": confirmed}
    if confirmed:
        status.update(
            {
                "block_height": 860_000 - row.block % 10_000,
                "block_hash": digest(row.block),
                "block_time": row.timestamp_s,
            }
        )
    return {
        "txid": row.hash,
        "version": 2,
        "locktime": 0,
        "size": 225,
        "weight": 573,
        "fee": fee,
        "vin": [
            {
                "txid": digest(row.hash, "in"),
                "vout": 0,
                "is_coinbase": False,
                "sequence": 4294967293,
                "prevout": {"scriptpubkey_type": "v0_p2wpkh", "scriptpubkey_address": sender, "value": value + fee},
            }
        ],
        "vout": [{"scriptpubkey_type": "v0_p2wpkh", "scriptpubkey_address": receiver, "value": value}],
        "status": status,
    }
