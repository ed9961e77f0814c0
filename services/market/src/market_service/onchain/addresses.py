"""Chain names and address formats: reject a malformed address before any upstream call is spent on it.

The checks are regex-level (shape and alphabet, no checksum): enough to catch an EVM address sent for
bitcoin, a truncated paste or a stray character, which are the mistakes clients actually make.
"""

from __future__ import annotations

import re
from typing import get_args

from suite_shared.errors import InvalidParameter

from .models import AddressChain, EvmChain

ADDRESS_CHAINS: tuple[str, ...] = get_args(AddressChain)
EVM_CHAINS: tuple[str, ...] = get_args(EvmChain)

# Common spellings clients send for the same chain.
CHAIN_ALIASES = {
    "eth": "ethereum",
    "btc": "bitcoin",
    "bnb": "bsc",
    "binance-smart-chain": "bsc",
    "bnb-smart-chain": "bsc",
    "matic": "polygon",
    "pol": "polygon",
}

EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# Base58 (no 0, O, I, l): P2PKH starts with 1, P2SH with 3.
BITCOIN_BASE58 = re.compile(r"^[13][1-9A-HJ-NP-Za-km-z]{25,34}$")
# Bech32/bech32m: "bc1" then the 32-letter data alphabet; 42 (P2WPKH) to 62 (P2WSH, taproot) characters.
BITCOIN_BECH32 = re.compile(r"^bc1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{39,59}$")

EXPECTED = {
    "evm": "0x followed by 40 hex digits",
    "bitcoin": "a base58 address starting with 1 or 3 (26-35 characters) or a bech32 address starting with bc1",
}


def canonical_chain(raw: str, supported: tuple[str, ...], parameter: str = "chain") -> str:
    """The canonical chain name for `raw` (case-insensitive, aliases allowed), or a 400 listing what works."""
    name = raw.strip().lower()
    name = CHAIN_ALIASES.get(name, name)
    if name not in supported:
        raise InvalidParameter(
            f"Unsupported {parameter} {raw!r}.", {"parameter": parameter, "value": raw, "supported": list(supported)}
        )
    return name


def is_evm_address(address: str) -> bool:
    return EVM_ADDRESS.match(address) is not None


def is_bitcoin_address(address: str) -> bool:
    return BITCOIN_BASE58.match(address) is not None or BITCOIN_BECH32.match(address.lower()) is not None


def normalise_address(address: str, chain: str) -> str:
    """The address in the form upstreams expect (EVM lower-case, bech32 lower-case), or a 400 saying why."""
    address = address.strip()
    if chain in EVM_CHAINS:
        if is_evm_address(address):
            return address.lower()
        raise _bad_address(address, chain, EXPECTED["evm"], "bitcoin" if is_bitcoin_address(address) else None)
    if is_bitcoin_address(address):
        return address.lower() if address.lower().startswith("bc1") else address
    raise _bad_address(
        address, chain, EXPECTED["bitcoin"], "ethereum, bsc or polygon" if is_evm_address(address) else None
    )


def _bad_address(address: str, chain: str, expected: str, looks_like: str | None) -> InvalidParameter:
    details: dict[str, object] = {"parameter": "address", "address": address, "chain": chain, "expected": expected}
    message = f"{address!r} is not a valid {chain} address: expected {expected}."
    if looks_like:
        details["hint"] = f"this looks like an address for {looks_like}; pass that as `chain`"
        message += f" It looks like an address for {looks_like}."
    return InvalidParameter(message, details)
