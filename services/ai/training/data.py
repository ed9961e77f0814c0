"""Loading the training data copied into `training/data/` (provenance in DATA_SOURCES.md).

Candles: Binance spot candles as freqtrade stores them, `[[open_ms, o, h, l, c, base_volume], ...]`
oldest first, gzipped. Cleaning rule (stated in the model card): a candle is dropped when a price is not
positive, when its high is below its open/close or its low above them, or when its range exceeds 60 % of
its close (malformed prints such as the first BTC candles); gaps (exchange outages) are left as they are.
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai_service.features import Candles

DATA = Path(__file__).parent / "data"
HOURLY_SYMBOLS = ("BTC", "ETH", "BNB", "SOL")
DAILY_SYMBOLS = ("BTC", "ETH", "BNB", "SOL", "XRP", "ADA")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
TWITTER_LABELS = {0: "negative", 1: "positive", 2: "neutral"}  # the dataset's 0 bearish, 1 bullish, 2 neutral


def load_candles(symbol: str, timeframe: str) -> Candles:
    """Cleaned candles of `symbol`/USDT at `timeframe` ("1h" or "1d")."""
    with gzip.open(DATA / "ohlcv" / f"{symbol}_USDT-{timeframe}.json.gz", "rt") as handle:
        table = np.asarray(json.load(handle), dtype=np.float64)
    return Candles(*(column.copy() for column in clean(table).T))


def clean(table: np.ndarray) -> np.ndarray:
    t, o, h, l, c = (table[:, column] for column in range(5))
    valid = (np.min(table[:, 1:5], axis=1) > 0) & (h >= np.maximum(o, c)) & (l <= np.minimum(o, c))
    valid &= (h - l) <= 0.6 * c
    valid &= np.concatenate(([True], np.diff(t) > 0))
    return table[valid]


def resample(candles: Candles, bars: int) -> Candles:
    """Aggregate consecutive groups of `bars` candles aligned on UTC multiples (1h → 4h)."""
    period = bars * 3_600_000
    group = (candles.t // period).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], np.diff(group) != 0)))
    ends = np.concatenate((starts[1:], [len(group)])) - 1
    complete = np.diff(np.concatenate((starts, [len(group)]))) == bars
    high, low = np.maximum.reduceat(candles.h, starts), np.minimum.reduceat(candles.l, starts)
    volume = np.add.reduceat(candles.v, starts)
    keep = np.flatnonzero(complete)
    return Candles(
        t=group[starts[keep]].astype(np.float64) * period,
        o=candles.o[starts[keep]],
        h=high[keep],
        l=low[keep],
        c=candles.c[ends[keep]],
        v=volume[keep],
    )


@dataclass(frozen=True)
class LabelledText:
    texts: list[str]
    labels: list[str]


def load_twitter(split: str) -> LabelledText:
    """Twitter Financial News Sentiment (MIT): `split` is "train" or "valid"."""
    with open(DATA / "sentiment" / f"twitter_financial_news_{split}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledText([row["text"] for row in rows], [TWITTER_LABELS[int(row["label"])] for row in rows])


def load_crypto_headlines() -> LabelledText:
    """The 100 NewsAPI crypto headlines of 2022-12-23, labelled by hand (75 distinct titles)."""
    with open(DATA / "sentiment" / "crypto_headlines_labelled.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledText([row["title"] for row in rows], [row["label"] for row in rows])
