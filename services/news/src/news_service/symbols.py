"""Which assets a story is about, and which categories it belongs to, from its title and summary.

Tickers count only when written as tickers (`$btc` or all-caps `BTC`), names when written as names
(`Bitcoin`, `bitcoin`), so plain words (`link to the article`, `near term`, `gas fees`) are not assets.
Tickers that are also English words (`ONE`, `GAS`, `NEAR`…) need more: a `$`, or all-caps in a headline that
is not itself shouted in capitals. Output uses the shared library's canonical asset spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from suite_shared.assets import TRACKED_ASSETS
from suite_shared.errors import InvalidSymbol
from suite_shared.symbols import parse_asset

# Canonical ticker -> names that unambiguously mean the asset (matched case-insensitively as whole words).
ASSET_NAMES: dict[str, tuple[str, ...]] = {
    "BTC": ("bitcoin", "bitcoins"),
    "ETH": ("ethereum", "ether"),
    "SOL": ("solana",),
    "XRP": ("ripple",),
    "BNB": ("binance coin",),
    "ADA": ("cardano",),
    "DOGE": ("dogecoin",),
    "DOT": ("polkadot",),
    "LINK": ("chainlink",),
    "AVAX": (),
    "MATIC": (),
    "POL": (),
    "TRX": (),
    "LTC": ("litecoin",),
    "BCH": ("bitcoin cash",),
    "XLM": (),
    "ATOM": (),
    "XMR": ("monero",),
    "ETC": ("ethereum classic",),
    "FIL": ("filecoin",),
    "TON": ("toncoin",),
    "SHIB": ("shiba inu",),
    "PEPE": (),
    "UNI": ("uniswap",),
    "AAVE": ("aave",),
    "MKR": ("makerdao",),
    "LDO": ("lido dao",),
    "CRV": ("curve dao",),
    "COMP": (),
    "ARB": ("arbitrum",),
    "OP": (),
    "NEAR": ("near protocol",),
    "APT": ("aptos",),
    "SUI": (),
    "ONE": ("harmony one",),
    "GAS": (),
    "SUN": (),
    "OM": ("mantra dao",),
    "ALGO": ("algorand",),
    "HBAR": ("hedera",),
    "ICP": ("internet computer",),
    "FTT": (),
    "USDT": ("tether",),
    "USDC": ("usd coin",),
    "DAI": (),
    "TRUMP": (),
    "HYPE": ("hyperliquid",),
    "SUSHI": ("sushiswap",),
}
# Names that are also ordinary words: they count only capitalised and not opening a sentence.
CAPITALISED_NAMES: dict[str, tuple[str, ...]] = {
    "AVAX": ("Avalanche",),
    "MATIC": ("Polygon",),
    "TRX": ("Tron", "TRON"),
    "XLM": ("Stellar",),
    "ATOM": ("Cosmos",),
    "OP": ("Optimism",),
    "SUI": ("Sui",),
    "PEPE": ("Pepe",),
}
# Tickers that are also common English words (or initialisms) in upper case.
WORD_TICKERS: frozenset[str] = frozenset(
    {
        "ONE",
        "GAS",
        "SUN",
        "NEAR",
        "LINK",
        "DOT",
        "OM",
        "ARB",
        "OP",
        "UNI",
        "COMP",
        "HYPE",
        "TRUMP",
        "ATOM",
        "SUI",
        "TON",
        "DAI",
        "FTT",
        "ICP",
    }
)
KNOWN_ASSETS: frozenset[str] = TRACKED_ASSETS
assert set(ASSET_NAMES) == set(TRACKED_ASSETS), "every tracked asset needs its names here (maybe none)"

CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "bitcoin": ("bitcoin", "btc", "satoshi", "lightning network", "ordinals"),
    "ethereum": ("ethereum", "ether", "eth", "vitalik", "erc-20", "layer 2", "layer-2"),
    "defi": (
        "defi",
        "decentralized finance",
        "decentralised finance",
        "dex",
        "decentralized exchange",
        "liquidity pool",
        "yield farming",
        "lending protocol",
        "tvl",
        "total value locked",
        "uniswap",
        "aave",
        "makerdao",
        "curve finance",
        "lido",
        "staking protocol",
        "stablecoin",
    ),
    "nft": (
        "nft",
        "nfts",
        "non-fungible",
        "non fungible",
        "opensea",
        "bored ape",
        "cryptopunks",
        "digital collectible",
        "digital collectibles",
    ),
}
CATEGORY_SYMBOLS: dict[str, frozenset[str]] = {
    "bitcoin": frozenset({"BTC"}),
    "ethereum": frozenset({"ETH"}),
    "defi": frozenset({"UNI", "AAVE", "MKR", "LDO", "CRV", "COMP", "SUSHI"}),
    "nft": frozenset(),
}

_DOLLAR_TICKER = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,9})\b")
_CAPS_TICKER = re.compile(r"(?<![\w$])([A-Z][A-Z0-9]{0,9})\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“‘(\-–—]\s*)$")


def _name_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(name) for name in names), key=len, reverse=True))
    return re.compile(rf"(?<![\w$])(?:{alternatives})(?![\w])", re.IGNORECASE)


_NAME_TO_ASSET: dict[str, str] = {name: asset for asset, names in ASSET_NAMES.items() for name in names}
_NAMES = _name_pattern(_NAME_TO_ASSET)
_CAPITALISED_TO_ASSET: dict[str, str] = {name: asset for asset, names in CAPITALISED_NAMES.items() for name in names}
_CAPITALISED = re.compile(rf"\b(?:{'|'.join(map(re.escape, _CAPITALISED_TO_ASSET))})\b")
_CATEGORY_PATTERNS: dict[str, re.Pattern[str]] = {
    name: _name_pattern(words) for name, words in CATEGORY_KEYWORDS.items()
}


def extract_symbols(*texts: str | None, known_assets: Iterable[str] = KNOWN_ASSETS) -> list[str]:
    """Canonical tickers the texts mention, in order of first mention, limited to `known_assets`."""
    known = set(known_assets)
    found: dict[str, int] = {}
    for index, text in enumerate(texts):
        if text:
            _collect(text, known, found, offset=index * 1_000_000)
    return sorted(found, key=found.__getitem__)


def _collect(text: str, known: set[str], found: dict[str, int], offset: int) -> None:
    def add(asset: str, position: int) -> None:
        if asset in known and asset not in found:
            found[asset] = offset + position

    hits: list[tuple[int, str]] = []
    hits += [(m.start(), _canonical(m.group(1))) for m in _DOLLAR_TICKER.finditer(text)]
    shouted = _is_shouted(text)
    hits += [
        (m.start(), m.group(1)) for m in _CAPS_TICKER.finditer(text) if m.group(1) not in WORD_TICKERS or not shouted
    ]
    hits += [(m.start(), _NAME_TO_ASSET[m.group(0).lower()]) for m in _NAMES.finditer(text)]
    hits += [
        (m.start(), _CAPITALISED_TO_ASSET[m.group(0)])
        for m in _CAPITALISED.finditer(text)
        if not _SENTENCE_START.search(text[: m.start()])
    ]
    for position, asset in sorted(hits):
        add(asset, position)


def _canonical(raw: str) -> str:
    try:
        return parse_asset(raw)
    except InvalidSymbol:  # a malformed ticker is simply no ticker here
        return raw.upper()


def _is_shouted(text: str) -> bool:
    """True for all-caps headlines, where every word looks like a ticker."""
    letters = [char for char in text if char.isalpha()]
    return len(letters) >= 12 and sum(char.isupper() for char in letters) / len(letters) > 0.7


def normalise_symbols(codes: Iterable[str], known_assets: Iterable[str] = KNOWN_ASSETS) -> list[str]:
    """Upstream-supplied currency codes (CryptoPanic's), canonicalised and limited to assets we know."""
    known = set(known_assets)
    seen: list[str] = []
    for code in codes:
        asset = _canonical(code.strip().lstrip("$"))
        if asset in known and asset not in seen:
            seen.append(asset)
    return seen


def derive_tags(title: str, summary: str | None, symbols: Iterable[str]) -> list[str]:
    """The contract categories (bitcoin, ethereum, defi, nft) a story belongs to."""
    text = f"{title} {summary or ''}"
    symbol_set = set(symbols)
    return [
        category
        for category, pattern in _CATEGORY_PATTERNS.items()
        if symbol_set & CATEGORY_SYMBOLS[category] or pattern.search(text)
    ]
