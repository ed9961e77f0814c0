"""Kraken public REST: the fallback for tickers, candles, order books, trades and exchange info.

Kraken spells Bitcoin XBT (and Dogecoin XDG), answers `{"error": [...], "result": {...}}` with HTTP 200 even
for errors, and keys results by its own pair name (e.g. XXBTZUSD), so a single-pair result is read as the
one key that is not `last`.
"""

from __future__ import annotations

from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest
from suite_shared.upstream import MalformedBody, NotServed, UpstreamRejected

from ..models import Candle, CandleQuery, ExchangeInfo, ExchangeSymbol, OrderBook, PairQuery, PriceQuote, Ticker, Trade

KRAKEN_ASSETS = {"BTC": "XBT", "DOGE": "XDG"}
OUR_ASSETS = {
    "XBT": "BTC",
    "XXBT": "BTC",
    "XDG": "DOGE",
    "XXDG": "DOGE",
    "ZUSD": "USD",
    "ZEUR": "EUR",
    "XETH": "ETH",
    "ZGBP": "GBP",
    "ZJPY": "JPY",
    "ZCAD": "CAD",
    "ZAUD": "AUD",
    "XXRP": "XRP",
    "XLTC": "LTC",
    "XXLM": "XLM",
    "XETC": "ETC",
    "XZEC": "ZEC",
    "XXMR": "XMR",
    "XREP": "REP",
    "XMLN": "MLN",
}
INTERVAL_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440, "1w": 10080}


def kraken_pair(base: str, quote: str) -> str:
    return KRAKEN_ASSETS.get(base, base) + KRAKEN_ASSETS.get(quote, quote)


def our_asset(kraken_asset: str) -> str:
    return OUR_ASSETS.get(kraken_asset, kraken_asset)


def result_of(upstream: str, raw: Any) -> Any:
    """The `result` of a Kraken body; Kraken's own errors become failure classes."""
    errors = raw.get("error") or []
    if errors:
        message = "; ".join(str(error) for error in errors)
        if any("Unknown asset pair" in str(error) for error in errors):
            raise NotServed(upstream, message, 400)
        if any("Invalid arguments" in str(error) for error in errors):
            raise UpstreamRejected(upstream, message, 400)
        raise MalformedBody(upstream, f"error body: {message}")
    return raw["result"]


def only_pair(result: dict[str, Any]) -> Any:
    (value,) = [value for key, value in result.items() if key != "last"]
    return value


class KrakenTickerRequest:
    name = upstream = "kraken"

    def build_request(self, query: PairQuery) -> UpstreamRequest:
        return UpstreamRequest("/0/public/Ticker", {"pair": kraken_pair(query.base, query.quote)})


class KrakenTicker(KrakenTickerRequest, Fetcher[PairQuery, Ticker]):
    def transform(self, query: PairQuery, raw: Any) -> Ticker:
        row = only_pair(result_of(self.upstream, raw))
        volume, vwap = float(row["v"][1]), float(row["p"][1])
        return Ticker(
            symbol=query.pair,
            bid=float(row["b"][0]),
            ask=float(row["a"][0]),
            last=float(row["c"][0]),
            volume=volume,
            quote_volume=volume * vwap,
        )


class KrakenPrice(KrakenTickerRequest, Fetcher[PairQuery, PriceQuote]):
    def transform(self, query: PairQuery, raw: Any) -> PriceQuote:
        row = only_pair(result_of(self.upstream, raw))
        last, opened = float(row["c"][0]), float(row["o"])
        # Kraken's "o" is today's (UTC) open, the closest it has to a 24 h reference price.
        change = (last / opened - 1) * 100 if opened else None
        return PriceQuote(
            symbol=query.base,
            price=last,
            change_24h=change,
            high_24h=float(row["h"][1]),
            low_24h=float(row["l"][1]),
            volume_24h=float(row["v"][1]) * float(row["p"][1]),
        )


class KrakenOHLC(Fetcher[CandleQuery, list[Candle]]):
    """Kraken returns at most 720 candles from `since`; older history is not available there."""

    name = upstream = "kraken"

    def supports(self, query: CandleQuery) -> bool:
        return query.timeframe in INTERVAL_MINUTES

    def build_request(self, query: CandleQuery) -> UpstreamRequest:
        since = query.since // 1000 - 1 if query.since is not None else None  # Kraken's since is exclusive
        return UpstreamRequest(
            "/0/public/OHLC",
            {
                "pair": kraken_pair(query.base, query.quote),
                "interval": INTERVAL_MINUTES[query.timeframe],
                "since": since,
            },
        )

    def transform(self, query: CandleQuery, raw: Any) -> list[Candle]:
        rows = only_pair(result_of(self.upstream, raw))
        candles = [
            Candle(
                t=int(row[0]) * 1000,
                o=float(row[1]),
                h=float(row[2]),
                l=float(row[3]),
                c=float(row[4]),
                v=float(row[6]),
            )
            for row in rows
        ]
        if query.until is not None:
            candles = [candle for candle in candles if candle.t <= query.until]
        return candles


class KrakenDepth(Fetcher[PairQuery, OrderBook]):
    name = upstream = "kraken"

    def build_request(self, query: PairQuery) -> UpstreamRequest:
        return UpstreamRequest("/0/public/Depth", {"pair": kraken_pair(query.base, query.quote), "count": query.limit})

    def transform(self, query: PairQuery, raw: Any) -> OrderBook:
        book = only_pair(result_of(self.upstream, raw))
        return OrderBook(
            symbol=query.pair,
            bids=[(float(row[0]), float(row[1])) for row in book["bids"]][: query.limit],
            asks=[(float(row[0]), float(row[1])) for row in book["asks"]][: query.limit],
        )


class KrakenTrades(Fetcher[PairQuery, list[Trade]]):
    name = upstream = "kraken"

    def build_request(self, query: PairQuery) -> UpstreamRequest:
        since = query.since // 1000 if query.since is not None else None
        return UpstreamRequest(
            "/0/public/Trades", {"pair": kraken_pair(query.base, query.quote), "count": query.limit, "since": since}
        )

    def transform(self, query: PairQuery, raw: Any) -> list[Trade]:
        rows = only_pair(result_of(self.upstream, raw))
        trades = [
            Trade(
                id=str(row[6]) if len(row) > 6 else f"{row[2]}",
                timestamp=int(float(row[2]) * 1000),
                price=float(row[0]),
                amount=float(row[1]),
                side="buy" if row[3] == "b" else "sell",
                type="market" if row[4] == "m" else "limit",
            )
            for row in rows
        ]
        # Kraken lists oldest first. Without `since` we answer the newest first; with it, forward from `since`.
        return trades[: query.limit] if query.since is not None else trades[-query.limit :][::-1]


class KrakenAssetPairs(Fetcher[None, ExchangeInfo]):
    name = upstream = "kraken"

    def build_request(self, query: None) -> UpstreamRequest:
        return UpstreamRequest("/0/public/AssetPairs", {})

    def transform(self, query: None, raw: Any) -> ExchangeInfo:
        pairs = result_of(self.upstream, raw)
        return ExchangeInfo(
            exchange="kraken", symbols=[_exchange_symbol(row) for row in pairs.values() if "wsname" in row]
        )


def _exchange_symbol(row: dict[str, Any]) -> ExchangeSymbol:
    base, quote = (our_asset(part) for part in row["wsname"].split("/"))
    taker = row.get("fees") or [[0, None]]
    maker = row.get("fees_maker") or taker
    return ExchangeSymbol(
        symbol=f"{base}/{quote}",
        base=base,
        quote=quote,
        active=row.get("status", "online") == "online",
        min_amount=float(row["ordermin"]) if row.get("ordermin") else None,
        max_amount=None,
        min_price=float(row["tick_size"]) if row.get("tick_size") else None,
        max_price=None,
        maker_fee=maker[0][1] / 100 if maker[0][1] is not None else None,
        taker_fee=taker[0][1] / 100 if taker[0][1] is not None else None,
    )
