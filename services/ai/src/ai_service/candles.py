"""Candles for the models, asked of the market service over NATS (`market.candles.get`).

Market answers with the same symbol check, cache and provider chain as GET /api/ohlcv; its error codes are
turned back into the contract's errors here. No answer (market down, NATS down) is 503.
"""

from __future__ import annotations

from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from suite_shared.bus import Bus, BusUnavailable
from suite_shared.errors import (
    ApiError,
    InternalError,
    InvalidParameter,
    InvalidSymbol,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    ValidationFailed,
)
from suite_shared.events import CandlesReply, CandlesRequest
from suite_shared.subjects import MARKET_CANDLES_GET

from .features import Candles

HISTORY = 400  # candles asked for: WARMUP (200) plus room for pivots and the 168-bar windows
ERRORS: dict[str, type[ApiError]] = {
    "INVALID_SYMBOL": InvalidSymbol,
    "INVALID_PARAMETER": InvalidParameter,
    "VALIDATION_ERROR": ValidationFailed,
    "UPSTREAM_ERROR": UpstreamError,
    "UPSTREAM_TIMEOUT": UpstreamTimeout,
    "UPSTREAM_UNAVAILABLE": UpstreamUnavailable,
    "SERVICE_UNAVAILABLE": UpstreamUnavailable,
}


async def fetch_candles(
    bus: Bus, symbol: str, timeframe: str, timeout_s: float, limit: int = HISTORY
) -> tuple[Candles, CandlesReply]:
    """Closed candles oldest first, and market's reply (for provenance)."""
    request = CandlesRequest(symbol=symbol, timeframe=timeframe, limit=limit)
    try:
        reply = await bus.request(MARKET_CANDLES_GET, request, CandlesReply, timeout_s)
    except (TimeoutError, BusUnavailable, NoRespondersError, NatsTimeout) as exc:
        raise UpstreamUnavailable(
            "The market service did not answer for candles.", {"source": "market", "reason": type(exc).__name__}
        ) from exc
    if reply.error is not None:
        error_type = ERRORS.get(reply.error.code, InternalError)
        details = {"symbol": symbol, "source": "market"}
        raise error_type(reply.error.message, details)
    rows = sorted(reply.data, key=lambda row: row.t)
    return Candles.from_rows([(row.t, row.o, row.h, row.l, row.c, row.v) for row in rows]), reply
