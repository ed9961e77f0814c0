"""Symbol normalisation: every spelling the contract accepts, one canonical form out.

Accepted: `BTC`, `btc`, `BTC/USDT`, `BTC-USDT`, `BTC_USDT`, `BTCUSDT`, `btcusdt` (and `%2F`-encoded
slashes, which arrive decoded). Canonical output: assets `BTC`, pairs `BTC/USDT`. A bare asset where a
pair is needed means quote USDT.

Compact pairs (`ETHBTC`) are ambiguous without knowing the assets (`STETH` is an asset, not ST/ETH), so
without a list of known assets only stablecoin and fiat quotes are split off; with one, crypto quotes
are too, and a whole string that is itself a known asset is never split.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from .errors import InvalidSymbol

DEFAULT_QUOTE = "USDT"
MAX_SYMBOL = 41  # a pair of two 20-character assets and a separator; longer input is cut before matching
STABLE_AND_FIAT_QUOTES: tuple[str, ...] = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "USD", "EUR", "GBP", "TRY")
CRYPTO_QUOTES: tuple[str, ...] = ("BTC", "ETH", "BNB")
ALL_QUOTES: tuple[str, ...] = STABLE_AND_FIAT_QUOTES + CRYPTO_QUOTES

_ASSET = re.compile(r"^[A-Z0-9]{1,20}$")
_SEPARATORS = re.compile(r"[/\-_:]")


@dataclass(frozen=True, order=True)
class Pair:
    base: str
    quote: str

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def compact(self) -> str:
        """`BTCUSDT`: the exchange spelling."""
        return f"{self.base}{self.quote}"

    @property
    def subject_token(self) -> str:
        """`btcusdt`: the NATS subject spelling."""
        return self.compact.lower()


def _clean(raw: str) -> str:
    return raw.strip().upper().replace("%2F", "/")


def _invalid(raw: str, supported: Collection[str] | None = None) -> InvalidSymbol:
    sample = sorted(supported)[:20] if supported else []
    return InvalidSymbol(f"Unknown or malformed symbol: {raw!r}", {"symbol": raw, "supported_symbols": sample})


def _check_asset(asset: str, raw: str) -> str:
    if not _ASSET.match(asset):
        raise _invalid(raw)
    return asset


def parse_pair(raw: str, known_assets: Collection[str] | None = None, default_quote: str = DEFAULT_QUOTE) -> Pair:
    """Parse any accepted spelling into a Pair; raises InvalidSymbol (404) on malformed input."""
    text = _clean(raw)
    parts = _SEPARATORS.split(text)
    if len(parts) == 2:
        return Pair(_check_asset(parts[0], raw), _check_asset(parts[1], raw))
    if len(parts) != 1:
        raise _invalid(raw)
    if known_assets is not None and text in known_assets:
        return Pair(_check_asset(text, raw), default_quote)
    quotes = ALL_QUOTES if known_assets is not None else STABLE_AND_FIAT_QUOTES
    for quote in quotes:
        base = text[: -len(quote)]
        if text.endswith(quote) and len(base) >= 2 and (known_assets is None or base in known_assets):
            return Pair(_check_asset(base, raw), quote)
    return Pair(_check_asset(text, raw), default_quote)


def parse_asset(raw: str, known_assets: Collection[str] | None = None) -> str:
    """The asset a symbol names (`BTC/USDT` → `BTC`, `btc` → `BTC`)."""
    return parse_pair(raw, known_assets).base


def require_known(asset: str, known_assets: Collection[str], raw: str | None = None) -> str:
    """Raise the contract's INVALID_SYMBOL with close suggestions when `asset` is not supported."""
    if asset in known_assets:
        return asset
    error = _invalid(raw or asset, known_assets)
    error.details["suggestions"] = suggest(asset, known_assets)
    raise error


def suggest(asset: str, known_assets: Collection[str], limit: int = 5) -> list[str]:
    """Known assets within a few edits of `asset` (a third of its length, at least one), closest first, then
    alphabetically. RapidFuzz's C++ edit distance keeps this well under a millisecond for thousands of assets,
    so a stream of unknown symbols cannot occupy the event loop."""
    cutoff = max(1, len(asset[:MAX_SYMBOL]) // 3)
    found = process.extract(
        asset[:MAX_SYMBOL], known_assets, scorer=Levenshtein.distance, score_cutoff=cutoff, limit=None
    )
    return [known for known, _, _ in sorted(found, key=lambda match: (match[1], match[0]))][:limit]
