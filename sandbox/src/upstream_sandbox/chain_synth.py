"""Deterministic synthetic on-chain data for the explorer imitations (Etherscan, Blockchair, mempool.space).

There is no recording of wallets' histories to replay, so an address's transactions are generated from a
hash of (chain, address): the same address always shows the same history, shifted so the newest
transaction is recent. Hashes, counterparties and amounts are synthetic and documented as such.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .clock import now_ms

HOUR_S = 3600


def digest(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def unit(*parts: object) -> float:
    return int(digest(*parts)[:12], 16) / float(1 << 48)


@dataclass(frozen=True)
class SyntheticTransfer:
    hash: str
    timestamp_s: int
    block: int
    incoming: bool
    counterparty_seed: str
    amount: float  # whole coins
    failed: bool


def history(chain: str, address: str, count: int | None = None) -> list[SyntheticTransfer]:
    """The address's transfers, newest first: 5-60 of them, hours apart, the newest within the last hour."""
    key = address.lower()
    total = count if count is not None else 5 + int(unit(chain, key, "n") * 56)
    newest = now_ms() // 1000 - int(unit(chain, key, "t") * HOUR_S)
    rows, moment = [], newest
    for index in range(total):
        rows.append(
            SyntheticTransfer(
                hash=digest(chain, key, index),
                timestamp_s=moment,
                block=20_000_000 - index * 300 - int(unit(key, index) * 50),
                incoming=unit(chain, key, index, "dir") < 0.5,
                counterparty_seed=digest(chain, key, index, "other"),
                amount=round(10 ** (-2 + 4 * unit(chain, key, index, "amount")), 8),
                failed=unit(chain, key, index, "fail") < 0.03,
            )
        )
        moment -= int(HOUR_S * (1 + 40 * unit(chain, key, index, "gap")))
    return rows
