"""Candles of any sandbox coin at any Binance interval, built from the real recordings.

Hourly (and daily, for XRP/ADA) candles are the recorded ones. Inside a recorded candle the price follows the
documented synthetic path of `market_universe.candle_path`. Finer candles (1m…30m) sample that path; coarser
ones (2h…1M) aggregate the recorded candles. Synthetic coins apply their monotonic price transform to BTC's
candles, so their highs and lows stay consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

from .clock import DAY_MS, HOUR_MS, now_ms
from .market_universe import Coin, Series, candle_path, price_on_path, series

MINUTE_MS = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
    "1M": 30 * DAY_MS,
}
WEEK_OFFSET_MS = 4 * DAY_MS  # Binance weeks open on Monday; 1970-01-01 was a Thursday


@dataclass(frozen=True)
class Candle:
    open_ms: int
    close_ms: int  # Binance's close time: the last millisecond of the candle
    open: float
    high: float
    low: float
    close: float
    volume: float  # base asset
    quote_volume: float
    trades: int


def _sub_candle(source: Series, start: int, step: int, until: int) -> tuple[float, float, float, float, float]:
    """o, h, l, c and base volume of [start, min(start+step, until)) sampled from the synthetic path."""
    end = min(start + step, until)
    row = source.rows[source.index_at(start)]
    path = candle_path(row, source.step_ms)
    prices = [price_on_path(path, start), price_on_path(path, end)]
    prices += [price for t, price in path if start < t < end]
    share = (end - start) / source.step_ms
    return prices[0], max(prices), min(prices), prices[1], row[5] * share


def _bucket(open_ms: int, interval: str) -> int:
    step = INTERVAL_MS[interval]
    if interval == "1w":
        return (open_ms - WEEK_OFFSET_MS) // step * step + WEEK_OFFSET_MS
    return open_ms // step * step


def _transform(coin: Coin | None, values: tuple[float, float, float, float, float]) -> tuple[float, ...]:
    o, h, l, c, v = values  # noqa: E741 - candle field names
    if coin is None or not coin.synthetic:
        return o, h, l, c, v
    t = lambda price: coin.scale * price**coin.beta  # noqa: E731 - monotonic, so h/l stay h/l
    scaled_o = t(o)
    return scaled_o, t(h), t(l), t(c), v * (o / scaled_o if scaled_o else 1.0) * 0.1


def klines(coin: Coin, interval: str, start_ms: int | None, end_ms: int | None, limit: int) -> list[Candle]:
    """Binance-style klines, oldest first, the last one possibly unfinished (as Binance serves them)."""
    source = series("BTC" if coin.synthetic else coin.symbol)
    step = INTERVAL_MS[interval]
    now = now_ms()
    last_open = _bucket(min(end_ms if end_ms is not None else now, now), interval)
    if start_ms is not None:
        first_open = _bucket(max(start_ms, source.times[0]), interval)
        if first_open < start_ms:
            first_open += step
        opens = range(first_open, min(last_open, first_open + (limit - 1) * step) + 1, step)
    else:
        opens = range(max(last_open - (limit - 1) * step, _bucket(source.times[0], interval)), last_open + 1, step)
    return [candle for open_ms in opens if (candle := _candle(coin, source, open_ms, step, now)) is not None]


def _candle(coin: Coin, source: Series, open_ms: int, step: int, now: int) -> Candle | None:
    until = min(open_ms + step, now)
    if step < source.step_ms:
        values = _sub_candle(source, open_ms, step, until)
    else:
        rows = source.window(open_ms, until - 1)
        if not rows:
            return None  # a real gap in the recording (exchange outage)
        parts = [(row[1], row[2], row[3], row[4], row[5]) for row in rows]
        if rows[-1][0] + source.step_ms > now:  # the running candle: only the path up to now
            parts[-1] = _sub_candle(source, int(rows[-1][0]), source.step_ms, now)
        values = (
            parts[0][0],
            max(part[1] for part in parts),
            min(part[2] for part in parts),
            parts[-1][3],
            sum(part[4] for part in parts),
        )
    o, h, l, c, v = _transform(coin, values)  # noqa: E741
    return Candle(
        open_ms,
        open_ms + step - 1,
        o,
        max(h, o, c),
        min(l, o, c),
        c,
        v,
        v * (o + c) / 2,
        max(1, int(v * 7) % 5000 + 10),
    )
