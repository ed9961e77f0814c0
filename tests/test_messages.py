"""Every NATS subject of the suite carries its typed message in the running suite: each endpoint answers its
reply model, and each topic's real traffic (the ingest's market events, the news service's stories and scores,
the ai service's signals) validates against its model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from harness import Suite, hour_closing_candle
from suite_shared.bus import Bus
from suite_shared.messages.ai import ScoreRequest, Signal
from suite_shared.messages.market import CandlesRequest, MarketStatsRequest
from suite_shared.messages.sentiment import SymbolSentimentRequest
from suite_shared.topics import (
    AI_SENTIMENT_SCORE,
    AI_SIGNAL,
    ENDPOINTS,
    MARKET_BOOK,
    MARKET_CANDLE,
    MARKET_CANDLES_GET,
    MARKET_STATS_GET,
    MARKET_TICKER,
    MARKET_TRADE,
    NEWS_ARTICLE,
    NEWS_SCORED,
    NEWS_STREAM,
    SENTIMENT_SYMBOL_GET,
    TOPICS,
    Topic,
)

BTC = "btcusdt"


@pytest.fixture
async def bus(suite: Suite) -> AsyncIterator[Bus]:
    connected = Bus(suite.env.values["NATS_URL"], "messages-test")
    connected.start()
    assert await connected.wait_connected(5)
    yield connected
    await connected.close()


async def first_event(bus: Bus, topic: Topic[Any], subject: str, timeout_s: float = 20.0) -> BaseModel:
    arrived: asyncio.Future[BaseModel] = asyncio.get_running_loop().create_future()

    async def on_event(event: BaseModel, _seq: int) -> None:
        if not arrived.done():
            arrived.set_result(event)

    await bus.follow(topic, on_event, subject=subject)
    return await asyncio.wait_for(arrived, timeout_s)


async def test_every_endpoint_answers_with_its_reply_model(bus: Bus) -> None:
    candles = await bus.request(MARKET_CANDLES_GET, CandlesRequest(symbol="BTC/USDT", timeframe="1h", limit=5), 10)
    assert candles.error is None and candles.symbol == "BTC/USDT" and len(candles.data) == 5
    stats = await bus.request(MARKET_STATS_GET, MarketStatsRequest(assets=["btc", "ETH"]), 10)
    assert stats.error is None and stats.assets["BTC"].rank == 1 and set(stats.assets) == {"BTC", "ETH"}
    assert sum(stats.dominance.values()) == pytest.approx(100.0) and stats.total_market_cap
    scores = await bus.request(AI_SENTIMENT_SCORE, ScoreRequest(texts=["Bitcoin surges to a record high"]), 10)
    assert scores.error is None and scores.scores[0].label == "positive" and scores.model_version
    sentiment = await bus.request(SENTIMENT_SYMBOL_GET, SymbolSentimentRequest(symbol="btc-usdt"), 10)
    assert sentiment.error is None and sentiment.symbol == "BTC" and sentiment.window_hours > 0
    unknown = await bus.request(SENTIMENT_SYMBOL_GET, SymbolSentimentRequest(symbol="NOTACOIN1"), 10)
    assert unknown.error is not None and unknown.error.code == "INVALID_SYMBOL"
    covered = {MARKET_CANDLES_GET, MARKET_STATS_GET, AI_SENTIMENT_SCORE, SENTIMENT_SYMBOL_GET}
    assert covered == set(ENDPOINTS)


async def test_the_ingest_publishes_every_market_topic_typed(bus: Bus) -> None:
    for topic, subject in (
        (MARKET_TICKER, MARKET_TICKER.subject(pair=BTC)),
        (MARKET_TRADE, MARKET_TRADE.subject(pair=BTC)),
        (MARKET_BOOK, MARKET_BOOK.subject(pair=BTC)),
        (MARKET_CANDLE, MARKET_CANDLE.subject(timeframe="1m", pair=BTC)),
    ):
        event = await first_event(bus, topic, subject)
        assert isinstance(event, topic.model) and event.symbol == "BTC/USDT"


async def test_the_news_stream_holds_typed_stories_and_scores(bus: Bus) -> None:
    """news.article and news.scored as the news service stored them in the NEWS stream (polled every 3 s here)."""
    found: dict[str, BaseModel] = {}
    deadline = asyncio.get_running_loop().time() + 40
    while len(found) < 2 and asyncio.get_running_loop().time() < deadline:
        async for record in bus.replay(NEWS_STREAM, [NEWS_ARTICLE.pattern, NEWS_SCORED.pattern], 1):
            topic = NEWS_ARTICLE if NEWS_ARTICLE.matches(record.subject) else NEWS_SCORED
            found.setdefault(topic.template, topic.model.model_validate_json(record.data))
        await asyncio.sleep(1)
    article, scored = found[NEWS_ARTICLE.template], found[NEWS_SCORED.template]
    assert isinstance(article, NEWS_ARTICLE.model) and article.canonical_url
    assert isinstance(scored, NEWS_SCORED.model) and scored.sentiment in ("positive", "negative", "neutral")


async def test_an_hour_closing_candle_makes_ai_publish_a_typed_signal(bus: Bus) -> None:
    candle = hour_closing_candle()
    waiting = asyncio.create_task(first_event(bus, AI_SIGNAL, AI_SIGNAL.pattern, timeout_s=30))
    await asyncio.sleep(0.5)
    await bus.publish(MARKET_CANDLE, candle, subject=MARKET_CANDLE.subject(timeframe="1m", pair=BTC))
    signal = await waiting
    assert isinstance(signal, Signal) and signal.symbol == "BTC/USDT" and signal.direction == signal.type.upper()


def test_every_topic_is_covered_by_these_tests() -> None:
    covered = {MARKET_TICKER, MARKET_TRADE, MARKET_BOOK, MARKET_CANDLE, NEWS_ARTICLE, NEWS_SCORED, AI_SIGNAL}
    assert covered == set(TOPICS)
