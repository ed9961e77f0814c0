"""Live signals on `ai.signal` (the WebSocket `signals` channel): one 1h signal per pair each hour.

The ai service listens to the market's closed 1-minute candles (`market.candle.1m.*`, queue group
"ai-signals", so with several replicas each candle is handled once). When a closed candle ends an hour,
the hour's 1h candle is complete: the replica builds that pair's 1h signal, exactly as
GET /api/ai/signals would, and publishes it (JetStream stream SIGNALS keeps it for WebSocket resume).
A signal that cannot be built (market unreachable, too little history) is skipped and logged, never
invented.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter

from suite_shared.errors import ApiError
from suite_shared.messages.market import CandleEvent
from suite_shared.topics import AI_SIGNAL, MARKET_CANDLE

from .engine import AiEngine

log = logging.getLogger(__name__)

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
TIMEFRAME = "1h"
QUEUE = "ai-signals"
PUBLISHED = Counter("ai_signals_published_total", "Signals published on ai.signal, by outcome", ["outcome"])


def ends_an_hour(event: CandleEvent) -> bool:
    return event.timeframe == "1m" and event.closed and (event.t + MINUTE_MS) % HOUR_MS == 0


async def start(engine: AiEngine) -> None:
    bus = engine.ctx.bus

    async def on_candle(event: CandleEvent) -> None:
        if not ends_an_hour(event):
            return
        try:
            signal = await engine.signal(event.symbol, TIMEFRAME)
        except ApiError as exc:
            PUBLISHED.labels("skipped").inc()
            log.info("no %s signal for %s: %s", TIMEFRAME, event.symbol, exc.message)
            return
        await bus.publish(AI_SIGNAL, signal)
        PUBLISHED.labels("published").inc()

    minutes = MARKET_CANDLE.subject(timeframe="1m", pair="*")
    await bus.subscribe(MARKET_CANDLE, on_candle, subject=minutes, queue=QUEUE)
