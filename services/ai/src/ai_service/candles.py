"""Candles for the models, asked of the market service over NATS (`market.candles.get`).

Market answers with the same symbol check, cache and provider chain as GET /api/ohlcv; its error codes come
back as the contract's errors (`MarketClient`). No answer (market down, NATS down) is 503.
"""

from __future__ import annotations

from suite_shared.clients import MarketClient
from suite_shared.messages.market import CandlesReply

from .features import Candles

HISTORY = 400  # candles asked for: WARMUP (200) plus room for pivots and the 168-bar windows


async def fetch_candles(
    market: MarketClient, symbol: str, timeframe: str, timeout_s: float, limit: int = HISTORY
) -> tuple[Candles, CandlesReply]:
    """Closed candles oldest first, and market's reply (for provenance)."""
    reply = await market.candles(symbol, timeframe, limit=limit, timeout_s=timeout_s)
    rows = sorted(reply.data, key=lambda row: row.t)
    return Candles.from_rows([(row.t, row.o, row.h, row.l, row.c, row.v) for row in rows]), reply
