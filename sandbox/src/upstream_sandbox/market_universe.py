"""The sandbox's market: real Binance candles replayed up to now, plus a documented synthetic coin list.

Real: BTC, ETH, BNB and SOL hourly candles and XRP and ADA daily candles (Binance spot, see
DATA_SOURCES.md), every timestamp shifted by one offset, fixed when the process starts, so that the served
history ends at the current hour and the last 30 days of the recording are still ahead: a long-running
sandbox keeps replaying real movement instead of freezing at the last close. Nothing after "now" is ever
served. Between recorded closes the live price follows a synthetic path inside the real candle (open, its
two extremes, close: `candle_path`). Circulating supplies of the
recorded coins are approximate real figures of October 2022, when the recordings end.

Synthetic: every other coin of the 500-coin list. Its price follows BTC's real path raised to a per-coin
power (so coins co-move with the market as real ones do) times a per-coin constant; supplies, ranks, ATH/ATL
and categories come from a seeded generator. Names of well-known coins are used for recognisability only:
none of their figures is real. Everything here is deterministic for a given time.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib import resources

from .clock import DAY_MS, HOUR_MS, now_ms

COIN_COUNT = 500


@dataclass(frozen=True)
class Series:
    """Candles [open_ms, open, high, low, close, base_volume], oldest first, already time-shifted."""

    step_ms: int
    times: list[int]
    rows: list[list[float]]

    def index_at(self, at_ms: int) -> int:
        return max(0, bisect.bisect_right(self.times, at_ms) - 1)

    def price_at(self, at_ms: int) -> float:
        row = self.rows[self.index_at(at_ms)]
        return price_on_path(candle_path(row, self.step_ms), min(at_ms, int(row[0]) + self.step_ms))

    def window(self, start_ms: int, end_ms: int) -> list[list[float]]:
        """Candles opened in [start, end], never beyond now."""
        end_ms = min(end_ms, now_ms())
        return self.rows[bisect.bisect_left(self.times, start_ms) : bisect.bisect_right(self.times, end_ms)]


REPLAY_AHEAD_MS = 30 * DAY_MS


def candle_path(row: list[float], step_ms: int) -> list[tuple[int, float]]:
    """The synthetic price path inside one recorded candle, as (time, price) vertices: open → first extreme
    at a third → second extreme at two thirds → close (low first when it closed up, high first otherwise)."""
    start, opened, high, low, close = int(row[0]), row[1], row[2], row[3], row[4]
    first, second = (low, high) if close >= opened else (high, low)
    return [
        (start, opened),
        (start + step_ms // 3, first),
        (start + 2 * step_ms // 3, second),
        (start + step_ms, close),
    ]


def price_on_path(path: list[tuple[int, float]], at_ms: int) -> float:
    for (t0, p0), (t1, p1) in itertools.pairwise(path):
        if at_ms <= t1:
            return p0 + (p1 - p0) * max(0, at_ms - t0) / max(1, t1 - t0)
    return path[-1][1]


def _load(filename: str, step_ms: int) -> Series:
    raw = json.loads(resources.files(__package__).joinpath("data", "ohlcv", filename).read_text())
    current_step = now_ms() // step_ms * step_ms
    offset = current_step + REPLAY_AHEAD_MS - int(raw[-1][0])
    rows = [[int(row[0]) + offset, *map(float, row[1:6])] for row in raw]
    return Series(step_ms, [int(row[0]) for row in rows], rows)


@cache
def series(asset: str) -> Series:
    """The real, shifted series of an asset we have a recording for (cached per process)."""
    hourly = {
        "BTC": "BTC_USDT-1h.json",
        "ETH": "ETH_USDT-1h.json",
        "BNB": "BNB_USDT-1h.json",
        "SOL": "SOL_USDT-1h.json",
    }
    daily = {"XRP": "XRP_USDT-1d.json", "ADA": "ADA_USDT-1d.json"}
    if asset in hourly:
        return _load(hourly[asset], HOUR_MS)
    return _load(daily[asset], DAY_MS)


RECORDED = ("BTC", "ETH", "BNB", "SOL", "XRP", "ADA")

# (id, symbol, name, category) of the coins listed by name; their numbers are synthetic unless RECORDED.
NAMED: list[tuple[str, str, str, str]] = [
    ("bitcoin", "BTC", "Bitcoin", "layer-1"),
    ("ethereum", "ETH", "Ethereum", "layer-1"),
    ("tether", "USDT", "Tether", "stablecoin"),
    ("binancecoin", "BNB", "BNB", "exchange"),
    ("solana", "SOL", "Solana", "layer-1"),
    ("ripple", "XRP", "XRP", "payments"),
    ("usd-coin", "USDC", "USDC", "stablecoin"),
    ("cardano", "ADA", "Cardano", "layer-1"),
    ("dogecoin", "DOGE", "Dogecoin", "meme"),
    ("tron", "TRX", "TRON", "layer-1"),
    ("avalanche-2", "AVAX", "Avalanche", "layer-1"),
    ("shiba-inu", "SHIB", "Shiba Inu", "meme"),
    ("polkadot", "DOT", "Polkadot", "layer-0"),
    ("chainlink", "LINK", "Chainlink", "defi"),
    ("litecoin", "LTC", "Litecoin", "payments"),
    ("bitcoin-cash", "BCH", "Bitcoin Cash", "payments"),
    ("uniswap", "UNI", "Uniswap", "defi"),
    ("cosmos", "ATOM", "Cosmos Hub", "layer-0"),
    ("stellar", "XLM", "Stellar", "payments"),
    ("ethereum-classic", "ETC", "Ethereum Classic", "layer-1"),
    ("aave", "AAVE", "Aave", "defi"),
    ("maker", "MKR", "Maker", "defi"),
    ("pepe", "PEPE", "Pepe", "meme"),
    ("apecoin", "APE", "ApeCoin", "nft"),
    ("the-sandbox", "SAND", "The Sandbox", "nft"),
    ("decentraland", "MANA", "Decentraland", "nft"),
    ("axie-infinity", "AXS", "Axie Infinity", "nft"),
    ("curve-dao-token", "CRV", "Curve DAO", "defi"),
    ("lido-dao", "LDO", "Lido DAO", "defi"),
    ("floki", "FLOKI", "FLOKI", "meme"),
    ("bonk", "BONK", "Bonk", "meme"),
    ("blur", "BLUR", "Blur", "nft"),
    ("compound-governance-token", "COMP", "Compound", "defi"),
    ("sushi", "SUSHI", "Sushi", "defi"),
    ("pancakeswap-token", "CAKE", "PancakeSwap", "defi"),
    ("dogwifcoin", "WIF", "dogwifhat", "meme"),
]
CATEGORY_IDS = {"defi": "decentralized-finance-defi", "nft": "non-fungible-tokens-nft", "meme": "meme-token"}
STABLE = {"USDT", "USDC"}
# Approximate circulating supplies in October 2022 (public figures), so recorded coins get real-sized caps.
RECORDED_SUPPLY = {
    "BTC": 19_180_000,
    "ETH": 122_400_000,
    "BNB": 161_300_000,
    "SOL": 357_000_000,
    "XRP": 50_000_000_000,
    "ADA": 34_200_000_000,
}


@dataclass(frozen=True)
class Coin:
    id: str
    symbol: str
    name: str
    category: str
    supply: float
    max_supply: float | None
    scale: float  # price = scale * BTC_price ** beta (synthetic coins)
    beta: float
    synthetic: bool


def _unit(seed: str) -> float:
    """A deterministic number in [0, 1) from a string."""
    return int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16) / float(1 << 48)


@lru_cache(maxsize=1)
def coins() -> list[Coin]:
    """The 500 coins, in no particular order (rank follows market cap, computed per request)."""
    listed = list(NAMED) + [
        (f"synthetic-coin-{i}", f"SYN{i}", f"Synthetic Coin {i}", ("defi", "nft", "meme", "other", "other")[i % 5])
        for i in range(1, COIN_COUNT - len(NAMED) + 1)
    ]
    btc_now = series("BTC").price_at(now_ms())
    result = []
    for position, (coin_id, symbol, name, category) in enumerate(listed):
        u = _unit(coin_id)
        # A target market cap falling with list position keeps the named coins near the top; a synthetic
        # coin's price level is drawn, and its supply follows from the two.
        target_cap = 3e11 / (position + 1) ** 1.1 * (0.6 + 0.8 * u)
        price_level = 1.0 if symbol in STABLE else 10 ** (-5 + 8 * _unit(coin_id + ":price"))
        supply = RECORDED_SUPPLY.get(symbol) or round(target_cap / price_level)
        beta = 0.0 if symbol in STABLE else 0.6 + 0.8 * _unit(coin_id + ":beta")
        scale = price_level / btc_now**beta
        result.append(
            Coin(
                coin_id,
                symbol,
                name,
                category,
                supply,
                supply * 1.5 if u > 0.4 else None,
                scale,
                beta,
                synthetic=symbol not in RECORDED,
            )
        )
    return result


def price_at(coin: Coin, at_ms: int) -> float:
    if not coin.synthetic:
        return series(coin.symbol).price_at(at_ms)
    return coin.scale * series("BTC").price_at(at_ms) ** coin.beta


@dataclass(frozen=True)
class Quote:
    """One coin's figures at a moment, in USD."""

    coin: Coin
    price: float
    change_1h: float
    change_24h: float
    change_7d: float
    high_24h: float
    low_24h: float
    volume_24h: float
    market_cap: float
    ath: float
    ath_ms: int
    atl: float
    atl_ms: int


def quote(coin: Coin, at_ms: int) -> Quote:
    price = price_at(coin, at_ms)
    day = [price_at(coin, at_ms - step * HOUR_MS) for step in range(25)]
    volume = _real_volume(coin.symbol if not coin.synthetic else "BTC", at_ms)
    if coin.synthetic:
        # A turnover of the coin's own cap (2-15 % a day), moving with BTC's real activity.
        btc_turnover = volume / (price_at(coins()[0], at_ms) * RECORDED_SUPPLY["BTC"])
        volume = price * coin.supply * (0.02 + 0.13 * _unit(coin.id + ":volume")) * btc_turnover / 0.015
    ath, ath_ms, atl, atl_ms = _extremes(coin)
    return Quote(
        coin,
        price,
        _change(price, price_at(coin, at_ms - HOUR_MS)),
        _change(price, day[-1]),
        _change(price, price_at(coin, at_ms - 7 * DAY_MS)),
        max(day),
        min(day),
        volume,
        price * coin.supply,
        max(ath, price),
        ath_ms,
        min(atl, price),
        atl_ms,
    )


def _real_volume(symbol: str, at_ms: int) -> float:
    """Traded value (USD) over the 24 h before `at_ms` in a recorded series."""
    source = series(symbol)
    rows = source.window(at_ms - DAY_MS, at_ms) or source.window(at_ms - source.step_ms, at_ms)
    share = min(1.0, DAY_MS / source.step_ms / max(len(rows), 1))
    return sum(row[5] * row[4] for row in rows) * (1.0 if source.step_ms == HOUR_MS else share)


def _change(now: float, before: float) -> float:
    return (now / before - 1) * 100 if before else 0.0


@cache
def _series_extremes(symbol: str) -> tuple[list[float], list[float]]:
    """The rows of the highest high and the lowest low served so far (fixed at first use)."""
    rows = series(symbol).window(0, now_ms())
    return max(rows, key=lambda row: row[2]), min(rows, key=lambda row: row[3])


def _extremes(coin: Coin) -> tuple[float, int, float, int]:
    high_row, low_row = _series_extremes("BTC" if coin.synthetic else coin.symbol)
    if not coin.synthetic:
        return high_row[2], int(high_row[0]), low_row[3], int(low_row[0])
    return (
        coin.scale * high_row[2] ** coin.beta,
        int(high_row[0]),
        coin.scale * low_row[3] ** coin.beta,
        int(low_row[0]),
    )


def ranked(at_ms: int) -> list[Quote]:
    """Every coin's quote, largest market cap first."""
    return sorted((quote(coin, at_ms) for coin in coins()), key=lambda item: item.market_cap, reverse=True)


@lru_cache(maxsize=8)
def ranked_cached(second: int) -> list[Quote]:
    """`ranked` memoised per second: every call within one second sees the same market."""
    return ranked(second * 1000)


def market_now() -> list[Quote]:
    return ranked_cached(now_ms() // 1000)


def iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def coin_by_id(coin_id: str) -> Coin | None:
    return next((coin for coin in coins() if coin.id == coin_id), None)


def warm_up() -> None:
    """Load every recording and price the market once, so the first upstream call is not slow."""
    for asset in RECORDED:
        series(asset)
    market_now()
