"""Typed clients for the calls one service makes to another, all over NATS request/reply (topics.py).

Each call turns "no answer" and an error reply into the contract's errors (`ApiError`), so a caller handles
one error tree whether a failure was its own or a neighbour's. From the caller's side a neighbour that does
not answer, or answers that it is busy, is an upstream that is unavailable (503 UPSTREAM_UNAVAILABLE).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from .bus import Bus, NoReply
from .errors import ApiError, UpstreamUnavailable, error_for_code
from .messages import Reply
from .messages.ai import ScoreReply, ScoreRequest
from .messages.market import CandlesReply, CandlesRequest, MarketStatsReply, MarketStatsRequest
from .messages.sentiment import SymbolSentimentReply, SymbolSentimentRequest
from .topics import AI_SENTIMENT_SCORE, MARKET_CANDLES_GET, MARKET_STATS_GET, SENTIMENT_SYMBOL_GET, Endpoint

RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=Reply)
UNAVAILABLE_CODES = frozenset({"SERVICE_UNAVAILABLE", "UPSTREAM_UNAVAILABLE"})


async def ask(bus: Bus, endpoint: Endpoint[RequestT, ReplyT], payload: RequestT, timeout_s: float) -> ReplyT:
    """The reply's data, or the contract's error for why there is none."""
    service = endpoint.queue
    try:
        reply = await bus.request(endpoint, payload, timeout_s)
    except NoReply as exc:
        raise UpstreamUnavailable(
            f"The {service} service did not answer.", {"source": service, "reason": str(exc)}
        ) from exc
    if reply.error is not None:
        details = {"source": service, "code": reply.error.code}
        if reply.error.code in UNAVAILABLE_CODES:
            raise UpstreamUnavailable(reply.error.message, details)
        raise error_for_code(reply.error.code, reply.error.message, details)
    return reply


class MarketClient:
    """The market service: closed candles (GET /api/ohlcv's semantics) and global market figures."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def candles(
        self,
        symbol: str,
        timeframe: str,
        limit: int = 100,
        since: int | None = None,
        until: int | None = None,
        timeout_s: float = 5.0,
    ) -> CandlesReply:
        request = CandlesRequest(symbol=symbol, timeframe=timeframe, limit=limit, since=since, until=until)
        return await ask(self.bus, MARKET_CANDLES_GET, request, timeout_s)

    async def stats(self, assets: Sequence[str] = (), timeout_s: float = 3.0) -> MarketStatsReply:
        return await ask(self.bus, MARKET_STATS_GET, MarketStatsRequest(assets=list(assets)), timeout_s)


class AiClient:
    """The ai service: headline sentiment scores."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def score(self, texts: list[str], timeout_s: float = 5.0) -> ScoreReply:
        reply = await ask(self.bus, AI_SENTIMENT_SCORE, ScoreRequest(texts=texts), timeout_s)
        if len(reply.scores) != len(texts):
            raise ApiError(f"ai scored {len(reply.scores)} of {len(texts)} texts", {"source": "ai"})
        return reply


class SentimentClient:
    """The sentiment service: one asset's news sentiment."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def symbol(self, symbol: str, timeout_s: float = 2.0) -> SymbolSentimentReply:
        return await ask(self.bus, SENTIMENT_SYMBOL_GET, SymbolSentimentRequest(symbol=symbol), timeout_s)
