"""Symbol extraction and category tags: tickers and names count, plain English words do not."""

from __future__ import annotations

import pytest

from news_service.symbols import derive_tags, extract_symbols, normalise_symbols


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bitcoin tops $100k while ETH lags", ["BTC", "ETH"]),
        ("$sol and $BTC rally; Ripple wins in court", ["SOL", "BTC", "XRP"]),
        ("XRP, Cardano and Dogecoin lead gains", ["XRP", "ADA", "DOGE"]),
        ("Chainlink oracle update: LINK jumps 10%", ["LINK"]),
        ("Polkadot parachain auction; DOT holders vote", ["DOT"]),
        ("Arbitrum DAO vote passes, ARB up", ["ARB"]),
        ("$NEAR and $ONE pump", ["NEAR", "ONE"]),
    ],
)
def test_tickers_and_names_are_found(text: str, expected: list[str]) -> None:
    assert extract_symbols(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Click the link to article for more",
        "Link to the full report below",
        "Gas prices near record highs as the sun sets",
        "One more thing: Near-term outlook is dim",
        "Dot the i's and cross the t's",
        "Om mani padme hum; an arb trader explains",
    ],
)
def test_plain_words_are_not_tickers(text: str) -> None:
    symbols = extract_symbols(text)
    assert not {"LINK", "GAS", "NEAR", "ONE", "SUN", "DOT", "OM", "ARB"} & set(symbols)


def test_shouted_headline_does_not_turn_words_into_tickers() -> None:
    assert extract_symbols("BREAKING: ONE MORE DOT ON THE MAP AS GAS PRICES SOAR FOR BTC MINERS") == ["BTC"]


def test_word_like_names_need_capitals_and_not_sentence_start() -> None:
    assert extract_symbols("Investors bet on Avalanche and Polygon") == ["AVAX", "MATIC"]
    assert extract_symbols("Optimism returns to markets. An avalanche of selling") == []


def test_title_mentions_come_before_summary_mentions() -> None:
    assert extract_symbols("Solana news", "Bitcoin and Solana") == ["SOL", "BTC"]


def test_unknown_or_lowercase_tickers_are_ignored() -> None:
    assert extract_symbols("btc and eth in lower case, ZZZQ unknown") == []


def test_upstream_codes_are_canonicalised_and_filtered() -> None:
    assert normalise_symbols(["btc", "$ETH", "EPS", "BTC"]) == ["BTC", "ETH"]


@pytest.mark.parametrize(
    ("title", "summary", "symbols", "expected"),
    [
        ("Bitcoin miners capitulate", None, ["BTC"], ["bitcoin"]),
        ("Ethereum staking grows", "Vitalik speaks", ["ETH"], ["ethereum"]),
        ("Uniswap volume hits record on the DEX", None, ["UNI"], ["defi"]),
        ("Bored Ape NFT floor drops", "OpenSea data", [], ["nft"]),
        ("Fed holds rates steady", "Stocks flat", [], []),
    ],
)
def test_tags_follow_keywords_and_symbols(
    title: str, summary: str | None, symbols: list[str], expected: list[str]
) -> None:
    assert derive_tags(title, summary, symbols) == expected
