"""Owner labels for well-known exchange wallets, used when the whale feed does not name an owner.

The addresses are public facts: each carries that exchange's name tag on Etherscan (e.g. "Binance 14",
"Coinbase 1", "Kraken 2", "Bitfinex: Hot Wallet") or is the exchange's widely reported bitcoin cold wallet;
two of the Binance ones are also attributed to Binance in Whale Alert's own recorded responses. Exchanges
rotate wallets, so this is a short, deliberately conservative list, not an attribution database.
"""

from __future__ import annotations

UNKNOWN = "unknown"

EXCHANGE_WALLETS: dict[str, str] = {
    # Binance (Etherscan: Binance 1, Binance 2, Binance 14, Binance 15)
    "0x3f5ce5fbfe3e9af3971dd833d26ba9b5c936f0be": "binance",
    "0xd551234ae421e3bcba99a0da6d736074f22192ff": "binance",
    "0x28c6c06298d514db089934071355e5743bf21d60": "binance",
    "0x21a31ee1afc51d94c2efccaa2092ad1028285549": "binance",
    "34xp4vrocgjym3xr7ycvpfhocnxv4twseo": "binance",  # Binance's bitcoin cold wallet
    # Coinbase (Etherscan: Coinbase 1, Coinbase 2)
    "0x71660c4005ba85c37ccec55d0c4493e66fe775d3": "coinbase",
    "0x503828976d22510aad0201ac7ec88293211d23da": "coinbase",
    # Kraken (Etherscan: Kraken, Kraken 2)
    "0x2910543af39aba0cd09dbb2d50200b3e800a63d2": "kraken",
    "0x0a869d79a7052c7f1b55a8ebabbea3420f0d1e13": "kraken",
    # Bitfinex (Etherscan: Bitfinex: Hot Wallet; bitcoin cold wallet)
    "0x77134cbc06cb00b66f4c7e623d5fdbf6777635ec": "bitfinex",
    "bc1qgdjqv0av3q56jvd82tkdjpy7gdp9ut8tlqmgrpmv24sq90ecnvqqjwvw97": "bitfinex",
}


def owner_label(upstream_owner: str | None, address: str | None) -> str:
    """The upstream's owner name when it gives one, else our table's, else "unknown"."""
    if upstream_owner and upstream_owner.strip() and upstream_owner.strip().lower() != UNKNOWN:
        return upstream_owner.strip()
    return known_owner(address) or UNKNOWN


def known_owner(address: str | None) -> str | None:
    """The exchange owning `address` per the table (EVM addresses with or without 0x)."""
    if not address:
        return None
    key = address.strip().lower()
    return EXCHANGE_WALLETS.get(key) or EXCHANGE_WALLETS.get(f"0x{key}")
