"""Every NATS subject of the suite, each bound to the one model its messages carry.

An event subject is a `Topic`: a subject template (`market.ticker.{pair}`: dot-separated, lower case, pairs
without the slash), its model, the JetStream stream that keeps it (if any) and what delivery it promises.
A request/reply subject is an `Endpoint`: its request and reply models and the responders' queue group.
`Bus` (bus.py) publishes, consumes, asks and answers only through these, so a message of the wrong type
cannot be sent and every received one is validated against its model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from .messages import Reply
from .messages.ai import ScoreReply, ScoreRequest, Signal
from .messages.market import (
    BookEvent,
    CandleEvent,
    CandlesReply,
    CandlesRequest,
    MarketStatsReply,
    MarketStatsRequest,
    TickerEvent,
    TradeEvent,
)
from .messages.news import Article, ScoredArticle
from .messages.sentiment import SymbolSentimentReply, SymbolSentimentRequest

EventT = TypeVar("EventT", bound=BaseModel)
RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=Reply)

# What a subscriber can count on (the README's events table says the same per subject):
# - at-most-once: a plain publish; lost while NATS or the subscriber is away.
# - replayable: also kept by a JetStream stream for its max age, so a consumer can catch up or replay.
# - at-least-once: published with JetStream's acknowledgement (retried until acked, repeats dropped by
#   Nats-Msg-Id) into a stream, and consumed with explicit acks.
Delivery = Literal["at-most-once", "replayable", "at-least-once"]

MARKET_STREAM = "MARKET"
NEWS_STREAM = "NEWS"
SIGNALS_STREAM = "SIGNALS"
_TOKEN = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class Topic(Generic[EventT]):
    """An event subject (a template whose `{tokens}` vary per message) and its model."""

    template: str
    model: type[EventT]
    stream: str | None
    delivery: Delivery

    @property
    def pattern(self) -> str:
        """Every subject of this topic: each `{token}` as the NATS wildcard `*`."""
        return _TOKEN.sub("*", self.template)

    def subject(self, **tokens: str) -> str:
        return self.template.format(**tokens)

    def filter(self, **tokens: str) -> str:
        """The subjects with these tokens fixed and the others any (`market.candle.*.btcusdt`)."""
        return _TOKEN.sub(lambda token: tokens.get(token.group()[1:-1], "*"), self.template)

    def matches(self, subject: str) -> bool:
        parts, tokens = self.pattern.split("."), subject.split(".")
        return len(parts) == len(tokens) and all(p in ("*", t) for p, t in zip(parts, tokens, strict=True))


@dataclass(frozen=True)
class Endpoint(Generic[RequestT, ReplyT]):
    """A request/reply subject, answered by a queue group so that replicas share the load."""

    subject: str
    request: type[RequestT]
    reply: type[ReplyT]
    queue: str


# -- events ------------------------------------------------------------------------------------------------

MARKET_TICKER = Topic("market.ticker.{pair}", TickerEvent, MARKET_STREAM, "replayable")
MARKET_TRADE = Topic("market.trade.{pair}", TradeEvent, MARKET_STREAM, "replayable")
MARKET_BOOK = Topic("market.book.{pair}", BookEvent, MARKET_STREAM, "replayable")
MARKET_CANDLE = Topic("market.candle.{timeframe}.{pair}", CandleEvent, MARKET_STREAM, "replayable")
NEWS_ARTICLE = Topic("news.article", Article, NEWS_STREAM, "at-least-once")
NEWS_SCORED = Topic("news.scored", ScoredArticle, NEWS_STREAM, "at-least-once")
AI_SIGNAL = Topic("ai.signal", Signal, SIGNALS_STREAM, "replayable")

TOPICS: tuple[Topic[Any], ...] = (
    MARKET_TICKER,
    MARKET_TRADE,
    MARKET_BOOK,
    MARKET_CANDLE,
    NEWS_ARTICLE,
    NEWS_SCORED,
    AI_SIGNAL,
)

# -- request/reply -----------------------------------------------------------------------------------------

MARKET_CANDLES_GET = Endpoint("market.candles.get", CandlesRequest, CandlesReply, queue="market")
MARKET_STATS_GET = Endpoint("market.stats.get", MarketStatsRequest, MarketStatsReply, queue="market")
AI_SENTIMENT_SCORE = Endpoint("ai.sentiment.score", ScoreRequest, ScoreReply, queue="ai")
SENTIMENT_SYMBOL_GET = Endpoint("sentiment.symbol.get", SymbolSentimentRequest, SymbolSentimentReply, queue="sentiment")

ENDPOINTS: tuple[Endpoint[Any, Any], ...] = (
    MARKET_CANDLES_GET,
    MARKET_STATS_GET,
    AI_SENTIMENT_SCORE,
    SENTIMENT_SYMBOL_GET,
)


def topic_of(subject: str) -> Topic[Any] | None:
    """The topic a concrete subject belongs to (None: not one of the suite's)."""
    return next((topic for topic in TOPICS if topic.matches(subject)), None)
