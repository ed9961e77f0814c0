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
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ai_service.features import Candles

DATA = Path(__file__).parent / "data"
HOURLY_SYMBOLS = ("BTC", "ETH", "BNB", "SOL")
DAILY_SYMBOLS = ("BTC", "ETH", "BNB", "SOL", "XRP", "ADA")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
SCORE_NEUTRAL_BAND = 0.05
TWITTER_LABELS = {0: "negative", 1: "positive", 2: "neutral"}  # the dataset's 0 bearish, 1 bullish, 2 neutral


def load_candles(symbol: str, timeframe: str) -> Candles:
    """Cleaned candles of `symbol`/USDT at `timeframe` ("1h" or "1d")."""
    with gzip.open(DATA / "ohlcv" / f"{symbol}_USDT-{timeframe}.json.gz", "rt") as handle:
        table = np.asarray(json.load(handle), dtype=np.float64)
    return Candles(*(column.copy() for column in clean(table).T))


def load_cryptodatadownload(name: str) -> Candles:
    """Hourly candles in CryptoDataDownload's export (`unix,date,symbol,open,high,low,close,Volume <BASE>,…`,
    newest first; `unix` in ms, or in float seconds in old rows), cleaned like the others. Used for ADA hourly,
    a pair no model was trained on at 1h."""
    with gzip.open(DATA / "ohlcv" / name, "rt", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    table = np.asarray([[float(row[0]), *map(float, row[3:8])] for row in rows], dtype=np.float64)
    table[:, 0] = np.where(table[:, 0] < 1e11, table[:, 0] * 1000, table[:, 0])
    table = table[np.argsort(table[:, 0], kind="stable")]
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


def score_label(score: float) -> str:
    """The stated rule for sets scored in −1…1 (SemEval-2017 T5, FiQA): above +0.05 positive, below −0.05
    negative, otherwise neutral."""
    if score > SCORE_NEUTRAL_BAND:
        return "positive"
    return "negative" if score < -SCORE_NEUTRAL_BAND else "neutral"


def load_semeval() -> tuple[LabelledText, list[str]]:
    """SemEval-2017 task 5 headlines (1,142 rows, 960 distinct titles) and each row's title as its group (the
    same title scored for two companies must fall on one side of a split)."""
    rows = json.loads((DATA / "sentiment" / "semeval2017_task5_headlines.json").read_text())
    texts = [row["title"] for row in rows]
    return LabelledText(texts, [score_label(float(row["sentiment"])) for row in rows]), texts


def load_fiqa() -> LabelledText:
    """FiQA 2018 task 1 microblogs (675 posts, one scored aspect each)."""
    posts = json.loads((DATA / "sentiment" / "fiqa_microblogs.json").read_text())
    return LabelledText(
        [post["sentence"] for post in posts.values()],
        [score_label(float(post["info"][0]["sentiment_score"])) for post in posts.values()],
    )


def load_phrasebank() -> LabelledText:
    """Financial PhraseBank 50agree (4,846 sentences; CC BY-NC-SA 3.0): evaluation only, never trained on."""
    with open(DATA / "sentiment" / "financial_phrasebank_50agree.csv", newline="", encoding="latin-1") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledText([row["news"] for row in rows], [row["label"] for row in rows])


def held_out_split(data: LabelledText, groups: list[str] | None = None) -> tuple[LabelledText, LabelledText]:
    """A fixed 80/20 split (train, held-out) by a hash of each row's group (its text unless given): the same
    rows land on the same side on every machine and run, and duplicates never straddle the split."""
    held = [zlib.crc32(key.encode()) % 5 == 0 for key in groups or data.texts]
    return _rows(data, [not h for h in held]), _rows(data, held)


def _rows(data: LabelledText, keep: list[bool]) -> LabelledText:
    rows = [(text, label) for text, label, k in zip(data.texts, data.labels, keep, strict=True) if k]
    return LabelledText([text for text, _ in rows], [label for _, label in rows])


def load_crypto_headlines() -> LabelledText:
    """The 100 NewsAPI crypto headlines of 2022-12-23, labelled by hand (75 distinct titles)."""
    with open(DATA / "sentiment" / "crypto_headlines_labelled.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return LabelledText([row["title"] for row in rows], [row["label"] for row in rows])


def evaluation_sets() -> dict[str, LabelledText]:
    """Every labelled set the sentiment models are scored on; no model trained on any of these rows."""
    semeval, groups = load_semeval()
    crypto = load_crypto_headlines()
    distinct = dict(zip(crypto.texts, crypto.labels, strict=True))
    return {
        "twitter_valid": load_twitter("valid"),
        "semeval_held_out": held_out_split(semeval, groups)[1],
        "fiqa_held_out": held_out_split(load_fiqa())[1],
        "phrasebank_50agree": load_phrasebank(),
        "crypto_headlines_100": crypto,
        "crypto_headlines_75_distinct": LabelledText(list(distinct), list(distinct.values())),
    }


def full_score_sets() -> dict[str, LabelledText]:
    """SemEval and FiQA whole (as issue 16 measured the TF-IDF model): unseen by the TF-IDF model only."""
    return {"semeval_all_1142": load_semeval()[0], "fiqa_all_675": load_fiqa()}
