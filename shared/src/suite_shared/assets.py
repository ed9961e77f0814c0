"""The assets the suite follows in news and sentiment (canonical tickers), shared so that the news
service's symbol extraction and the sentiment service's symbol check agree on one list."""

from __future__ import annotations

TRACKED_ASSETS: frozenset[str] = frozenset({
    "BTC", "ETH", "SOL", "XRP", "BNB", "ADA", "DOGE", "DOT", "LINK", "AVAX", "MATIC", "POL", "TRX", "LTC", "BCH",
    "XLM", "ATOM", "XMR", "ETC", "FIL", "TON", "SHIB", "PEPE", "UNI", "AAVE", "MKR", "LDO", "CRV", "COMP", "ARB",
    "OP", "NEAR", "APT", "SUI", "ONE", "GAS", "SUN", "OM", "ALGO", "HBAR", "ICP", "FTT", "USDT", "USDC", "DAI",
    "TRUMP", "HYPE", "SUSHI",
})
