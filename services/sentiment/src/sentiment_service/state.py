"""What the sentiment service's routes share, built at start-up (app.py) and given to routes typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from suite_shared.clients import MarketClient
from suite_shared.deps import state_of
from suite_shared.providers import ProviderChain

from .aggregates import NewsAggregates, NewsFeed
from .fear_greed import FearGreed


@dataclass
class SentimentState:
    fear_greed: ProviderChain[None, FearGreed]
    aggregates: NewsAggregates
    feed: NewsFeed
    market: MarketClient


Sentiment = Annotated[SentimentState, Depends(state_of(SentimentState))]
