"""Market events (suite_shared.events) → the contract's WebSocket `data` objects, one function per channel."""

from __future__ import annotations

from typing import Any

from suite_shared.events import BookEvent, CandleEvent, MarketEvent, TickerEvent, TradeEvent

SNAPSHOT_KEYS = {
    "ticker": "latest:ticker:{symbol}",
    "trades": "latest:trade:{symbol}",
    "orderbook": "latest:book:{symbol}",
    "candles": "latest:candle:1m:{symbol}",
}
EVENT_MODELS: dict[str, type[MarketEvent]] = {
    "ticker": TickerEvent,
    "trades": TradeEvent,
    "orderbook": BookEvent,
    "candles": CandleEvent,
}


def shape(channel: str, event: Any) -> dict[str, Any]:
    if isinstance(event, TickerEvent):
        return {
            "symbol": event.symbol,
            "price": event.price,
            "change_24h": event.change_24h,
            "volume_24h": event.volume_24h,
            "timestamp": event.timestamp,
        }
    if isinstance(event, TradeEvent):
        return {
            "symbol": event.symbol,
            "price": event.price,
            "amount": event.amount,
            "side": event.side,
            "timestamp": event.timestamp,
            "id": event.id,
        }
    if isinstance(event, CandleEvent):
        return {
            "symbol": event.symbol,
            "timeframe": event.timeframe,
            "t": event.t,
            "o": event.o,
            "h": event.h,
            "l": event.l,
            "c": event.c,
            "v": event.v,
            "closed": event.closed,
            "timestamp": event.timestamp,
        }
    if isinstance(event, BookEvent):
        return {"symbol": event.symbol, "bids": event.bids, "asks": event.asks, "timestamp": event.timestamp}
    return dict(event)  # news and signals: forwarded as published
