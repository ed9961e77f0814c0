"""The global reading's components, each 0–100 (0 = extreme fear, 100 = extreme greed), each computed from
data the suite really has — or null, never made up:

- `volatility`: BTC/USDT's 30-day volatility of daily log returns against its 90-day volatility (market,
  `market.candles.get`): `100 − 50 × ratio`, clamped (as volatile as usual → 50; twice → 0, fear).
- `market_momentum`: BTC/USDT's last daily close against its 30-day mean close:
  `50 + 50 × tanh(deviation / 10 %)` (10 % above the mean → 88).
- `dominance`: `100 − BTC's share of total market cap` (market, `market.stats.get`): a market crowding
  into bitcoin is a fearful one (the same reading Alternative.me uses, on the level rather than its change).
- `social_media`: the mean model score of the last 24 h of scored news headlines: `50 + 50 × mean`. It is
  news, not social networks — we have no social-network source — and the description says so.
- `surveys`, `trends`: no source: null.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from dataclasses import dataclass, field, fields

from suite_shared.clients import MarketClient
from suite_shared.errors import ApiError

from .aggregates import NewsAggregates

DAY_MS = 86_400_000
PAIR = "BTC/USDT"


@dataclass
class Components:
    volatility: float | None = None
    market_momentum: float | None = None
    social_media: float | None = None
    surveys: float | None = None
    dominance: float | None = None
    trends: float | None = None
    notes: list[str] = field(default_factory=list)

    def scores(self) -> dict[str, float | None]:
        return {
            item.name: None if (value := getattr(self, item.name)) is None else round(value, 1)
            for item in fields(self)
            if item.name != "notes"
        }


def clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def volatility_score(closes: list[float]) -> tuple[float, float] | None:
    """(score, ratio of 30-day to 90-day volatility) from daily closes, oldest first; None if too few."""
    if len(closes) < 61:
        return None
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes) if a > 0 and b > 0]
    recent, longer = returns[-30:], returns[-90:]

    base = statistics.stdev(longer)
    if base == 0:
        return None
    ratio = statistics.stdev(recent) / base
    return clamp(100 - 50 * ratio), ratio


def momentum_score(closes: list[float]) -> tuple[float, float] | None:
    """(score, deviation of the last close from its 30-day mean)."""
    if len(closes) < 30:
        return None
    mean = sum(closes[-30:]) / 30
    deviation = closes[-1] / mean - 1
    return clamp(50 + 50 * math.tanh(deviation / 0.10)), deviation


async def compute(market: MarketClient, aggregates: NewsAggregates, now_ms: int, timeout_s: float = 3.0) -> Components:
    components = Components()
    candles, dominance, news = await asyncio.gather(
        _closes(market, timeout_s),
        _btc_dominance(market, timeout_s),
        aggregates.summary(None, DAY_MS, DAY_MS, now_ms),
        return_exceptions=True,
    )
    if isinstance(candles, list):
        if (vol := volatility_score(candles)) is not None:
            components.volatility = vol[0]
            components.notes.append(f"volatility {vol[0]:.0f}: 30-day BTC volatility is {vol[1]:.2f}× its 90-day level")
        if (mom := momentum_score(candles)) is not None:
            components.market_momentum = mom[0]
            components.notes.append(f"momentum {mom[0]:.0f}: BTC closed {mom[1]:+.1%} from its 30-day mean")
    else:
        components.notes.append(f"volatility and momentum: no candles from the market service ({candles})")
    if isinstance(dominance, float):
        components.dominance = clamp(100 - dominance)
        components.notes.append(f"dominance {components.dominance:.0f}: BTC holds {dominance:.1f}% of market cap")
    else:
        components.notes.append(f"dominance: market stats unavailable ({dominance})")
    if not isinstance(news, BaseException) and news.score is not None:
        components.social_media = clamp(50 + 50 * news.score)
        components.notes.append(
            f"social_media {components.social_media:.0f}: {news.count} news headlines in 24 h "
            f"averaged {news.score:+.2f} by the ai model (news, not social networks)"
        )
    else:
        components.notes.append("social_media: no scored news in the last 24 h")
    components.notes.append("surveys and trends: no source, null")
    return components


async def _closes(market: MarketClient, timeout_s: float) -> list[float] | str:
    try:
        reply = await market.candles(PAIR, "1d", limit=91, timeout_s=timeout_s)
    except ApiError as exc:
        return exc.code
    return [candle.c for candle in sorted(reply.data, key=lambda candle: candle.t)]


async def _btc_dominance(market: MarketClient, timeout_s: float) -> float | str:
    try:
        reply = await market.stats(timeout_s=timeout_s)
    except ApiError as exc:
        return exc.code
    share = reply.dominance.get("BTC")
    return share if share is not None else "no BTC share"
