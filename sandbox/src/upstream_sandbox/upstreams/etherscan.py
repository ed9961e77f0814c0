"""Etherscan API V2 (multichain) imitation: `GET /api?chainid=…&module=account&action=txlist|balance`.

Etherscan answers HTTP 200 with `{"status", "message", "result"}` and every number as a string. Histories
are synthetic (chain_synth.py); an address ending in 0000 has none ("No transactions found").
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter

from ..chain_synth import digest, history, unit

PREFIX = "/etherscan/v2"
router = APIRouter()

CHAINS = {1: "ethereum", 56: "bsc", 137: "polygon"}
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
WEI = 10**18


def _notok(result: str, message: str = "NOTOK") -> dict[str, Any]:
    return {"status": "0", "message": message, "result": result}


@router.get("/api")
async def api(
    chainid: int = 1,
    module: str = "",
    action: str = "",
    address: str = "",
    page: int = 1,
    offset: int = 10,
    sort: str = "asc",
    apikey: str | None = None,
) -> dict[str, Any]:
    if chainid not in CHAINS:
        return _notok("Missing or unsupported chainid parameter (required for v2 api)")
    if module != "account" or action not in ("txlist", "balance"):
        return _notok(
            "Error! Missing Or invalid Module name" if module != "account" else "Error! Missing Or invalid Action name"
        )
    if not ADDRESS.match(address):
        return _notok("Error! Invalid address format")
    if action == "balance":
        return {"status": "1", "message": "OK", "result": str(int(unit(chainid, address.lower(), "bal") * 50 * WEI))}
    rows = [] if address.lower().endswith("0000") else _txlist(CHAINS[chainid], address.lower())
    if sort == "asc":
        rows.reverse()
    window = rows[(max(page, 1) - 1) * max(offset, 1) : max(page, 1) * max(offset, 1)]
    if not window:
        return {"status": "0", "message": "No transactions found", "result": []}
    return {"status": "1", "message": "OK", "result": window}


def _txlist(chain: str, address: str) -> list[dict[str, str]]:
    rows = []
    for transfer in history(chain, address):
        other = "0x" + transfer.counterparty_seed[:40]
        gas_used = 21_000 + int(unit(transfer.hash, "gas") * 60_000)
        rows.append(
            {
                "blockNumber": str(transfer.block),
                "timeStamp": str(transfer.timestamp_s),
                "hash": "0x" + transfer.hash,
                "nonce": str(int(unit(transfer.hash, "nonce") * 5000)),
                "blockHash": "0x" + digest(transfer.block),
                "transactionIndex": str(int(unit(transfer.hash, "idx") * 200)),
                "from": other if transfer.incoming else address,
                "to": address if transfer.incoming else other,
                "value": str(int(transfer.amount * WEI)),
                "gas": str(gas_used + 10_000),
                "gasPrice": str(int((5 + 60 * unit(transfer.hash, "price")) * 10**9)),
                "isError": "1" if transfer.failed else "0",
                "txreceipt_status": "0" if transfer.failed else "1",
                "input": "0x",
                "contractAddress": "",
                "cumulativeGasUsed": str(gas_used * 40),
                "gasUsed": str(gas_used),
                "confirmations": str(1 + int(unit(transfer.hash, "conf") * 100_000)),
                "methodId": "0x",
                "functionName": "",
            }
        )
    return rows
