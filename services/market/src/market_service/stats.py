"""Global market statistics, dominance shares and price history, assembled from the provider chains."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from suite_shared.cache import Cache, CacheResult
from suite_shared.providers import ProviderChain

from .models import GlobalSnapshot, HistoryPoint, MarketCoin, Mover
from .quotes import cached_chain

DOMINANCE_TOP = 10
MOVERS = 5
# Coins traded below this in 24 h are left out of gainers/losers: thin markets swing wildly on little.
MOVER_MIN_VOLUME_USD = 1_000_000
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; weeks start on Monday as Binance's do


async def global_snapshot(
    cache: Cache, chain: ProviderChain[None, GlobalSnapshot]
) -> tuple[GlobalSnapshot, CacheResult]:
    """The cached global figures and dominance shares (GET /api/stats and /api/stats/dominance)."""
    result = await cached_chain(cache, "stats", "global", chain, None)
    return GlobalSnapshot.model_validate(result.value), result


def movers(coins: list[MarketCoin]) -> tuple[list[Mover], list[Mover]]:
    """Top gainers and losers by 24 h change among coins with real volume."""
    ranked = sorted(liquid(coins), key=lambda coin: coin.change_24h or 0.0, reverse=True)
    as_mover = [
        Mover(symbol=coin.symbol, change_24h=coin.change_24h or 0.0, volume_24h=coin.volume_24h) for coin in ranked
    ]
    gainers = [mover for mover in as_mover[:MOVERS] if mover.change_24h > 0]
    losers = [mover for mover in reversed(as_mover[-MOVERS:]) if mover.change_24h < 0]
    return gainers, losers


def liquid(coins: list[MarketCoin]) -> list[MarketCoin]:
    """Coins with a 24 h change and real volume (at least MOVER_MIN_VOLUME_USD traded)."""
    return [coin for coin in coins if coin.change_24h is not None and (coin.volume_24h or 0) >= MOVER_MIN_VOLUME_USD]


def trending(coins: list[MarketCoin], limit: int) -> list[MarketCoin]:
    """Top movers: the liquid coins with the largest 24 h change, up or down."""
    return sorted(liquid(coins), key=lambda coin: abs(coin.change_24h or 0.0), reverse=True)[:limit]


def dominance(snapshot: GlobalSnapshot) -> dict[str, float]:
    """The largest shares by asset plus `others`, rounded so that they sum to exactly 100."""
    top = sorted(snapshot.dominance.items(), key=lambda item: item[1], reverse=True)[:DOMINANCE_TOP]
    shares = {symbol: round(share, 4) for symbol, share in top}
    shares["others"] = round(max(0.0, 100.0 - sum(shares.values())), 4)
    drift = round(100.0 - sum(shares.values()), 4)
    largest = max(shares, key=lambda symbol: shares[symbol])
    shares[largest] = round(shares[largest] + drift, 4)
    return shares


def bucket_start(timestamp: int, interval: str) -> int:
    if interval == "1h":
        return timestamp // HOUR_MS * HOUR_MS
    if interval == "1d":
        return timestamp // DAY_MS * DAY_MS
    if interval == "1w":
        return (timestamp - MONDAY_OFFSET_MS) // (7 * DAY_MS) * 7 * DAY_MS + MONDAY_OFFSET_MS
    moment = datetime.fromtimestamp(timestamp / 1000, tz=UTC)
    return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0)) * 1000


def bucket_end(timestamp: int, interval: str) -> int:
    """The last millisecond of the bucket holding `timestamp`."""
    if interval == "1M":
        moment = datetime.fromtimestamp(timestamp / 1000, tz=UTC)
        year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000 - 1
    return bucket_start(timestamp, interval) + {"1h": HOUR_MS, "1d": DAY_MS, "1w": 7 * DAY_MS}[interval] - 1


def resample(points: list[HistoryPoint], interval: str, start: int, end: int) -> list[HistoryPoint]:
    """One point per interval inside [start, end]: stamped at the interval's start, with its last (closing) values."""
    first = bucket_start(start, interval)
    buckets: dict[int, HistoryPoint] = {}
    for point in sorted(points, key=lambda item: item.timestamp):
        opened = bucket_start(point.timestamp, interval)
        if first <= opened and point.timestamp <= end:
            buckets[opened] = point.model_copy(update={"timestamp": opened})
    return [buckets[key] for key in sorted(buckets)]
