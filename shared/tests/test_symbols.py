"""Symbol normalisation: every spelling of the contract maps to one canonical form."""

from __future__ import annotations

import pytest

from suite_shared.errors import InvalidSymbol
from suite_shared.symbols import Pair, parse_asset, parse_pair, require_known

KNOWN = {"BTC", "ETH", "BNB", "STETH", "WBTC", "ADA"}


@pytest.mark.parametrize(
    "raw", ["BTC", "btc", "BTC/USDT", "BTC-USDT", "BTC_USDT", "BTCUSDT", "btcusdt", " btc/usdt ", "BTC%2FUSDT"]
)
def test_every_contract_spelling_is_btc_usdt(raw: str) -> None:
    assert parse_pair(raw) == Pair("BTC", "USDT")
    assert str(parse_pair(raw, KNOWN)) == "BTC/USDT"
    assert parse_asset(raw) == "BTC"


def test_compact_crypto_quotes_split_only_with_known_assets() -> None:
    assert parse_pair("ETHBTC", KNOWN) == Pair("ETH", "BTC")
    assert parse_pair("ETHBTC") == Pair("ETHBTC", "USDT")


@pytest.mark.parametrize("asset", ["STETH", "WBTC"])
def test_known_asset_ending_in_a_quote_is_not_split(asset: str) -> None:
    assert parse_pair(asset, KNOWN) == Pair(asset, "USDT")


def test_pair_spellings_for_exchanges_and_subjects() -> None:
    pair = parse_pair("eth/usdc")
    assert (pair.compact, pair.subject_token) == ("ETHUSDC", "ethusdc")


@pytest.mark.parametrize("raw", ["", "BTC/USDT/X", "B$C", "a" * 30, "BTC/"])
def test_malformed_symbols_are_invalid_symbol_errors(raw: str) -> None:
    with pytest.raises(InvalidSymbol) as caught:
        parse_pair(raw)
    assert caught.value.status == 404 and caught.value.details["symbol"] == raw


def test_unknown_asset_error_suggests_close_matches() -> None:
    with pytest.raises(InvalidSymbol) as caught:
        require_known("BTCC", KNOWN)
    assert caught.value.details["suggestions"][0] == "BTC"
    assert "BTC" in caught.value.details["supported_symbols"]
