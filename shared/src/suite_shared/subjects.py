"""Every NATS subject the suite uses, in one place (dot-separated, lower case, pairs without the slash)."""

from __future__ import annotations

from .symbols import Pair

MARKET_TICKER_ALL = "market.ticker.*"
MARKET_TRADE_ALL = "market.trade.*"
MARKET_BOOK_ALL = "market.book.*"
MARKET_CANDLE_ALL = "market.candle.*.*"
MARKET_CANDLES_GET = "market.candles.get"

NEWS_ARTICLE = "news.article"
NEWS_SCORED = "news.scored"
NEWS_STREAM = "NEWS"  # JetStream stream holding news.article and news.scored

AI_SENTIMENT_SCORE = "ai.sentiment.score"
AI_PREDICT = "ai.predict"
AI_SIGNAL = "ai.signal"


def market_ticker(pair: Pair) -> str:
    return f"market.ticker.{pair.subject_token}"


def market_trade(pair: Pair) -> str:
    return f"market.trade.{pair.subject_token}"


def market_book(pair: Pair) -> str:
    return f"market.book.{pair.subject_token}"


def market_candles(timeframe: str) -> str:
    """Every pair's candles of one timeframe, e.g. `market.candle.1m.*`."""
    return f"market.candle.{timeframe}.*"


def market_candle(timeframe: str, pair: Pair) -> str:
    return f"market.candle.{timeframe}.{pair.subject_token}"
