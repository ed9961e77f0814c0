"""Binance spot REST: the primary source of tickers, candles, order books, trades and exchange info.

Binance sends numbers as strings and weights every request; the weights below are Binance's documented
request weights, spent from the shared per-minute budget. Prices in USD are Binance's USDT pairs.
"""

from __future__ import annotations

from typing import Any

from suite_shared.providers import Fetcher, UpstreamRequest

from ..models import (
    Candle,
    CandleQuery,
    ExchangeInfo,
    ExchangeSymbol,
    HistoryPoint,
    HistoryQuery,
    OrderBook,
    PairQuery,
    PriceQuote,
    Ticker,
    Trade,
)

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
DEPTH_WEIGHTS = {5: 5, 10: 5, 20: 5, 50: 5, 100: 5, 500: 25, 1000: 50, 5000: 250}
# Binance's standard spot fees (VIP 0, no BNB discount); exchangeInfo does not carry fees.
MAKER_FEE = TAKER_FEE = 0.001


def binance_symbol(base: str, quote: str) -> str:
    return f"{base}{'USDT' if quote == 'USD' else quote}"


def _float(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


class _Ticker24hRequest:
    """Both the ticker and the price come from one 24 h statistics call."""

    name = upstream = "binance"

    def build_request(self, query: PairQuery) -> UpstreamRequest:
        return UpstreamRequest("/api/v3/ticker/24hr", {"symbol": binance_symbol(query.base, query.quote)}, weight=2)


class BinanceTicker(_Ticker24hRequest, Fetcher[PairQuery, Ticker]):
    def transform(self, query: PairQuery, raw: Any) -> Ticker:
        return Ticker(
            symbol=query.pair,
            bid=_float(raw["bidPrice"]),
            ask=_float(raw["askPrice"]),
            last=float(raw["lastPrice"]),
            volume=_float(raw["volume"]),
            quote_volume=_float(raw["quoteVolume"]),
        )


class BinancePrice(_Ticker24hRequest, Fetcher[PairQuery, PriceQuote]):
    def transform(self, query: PairQuery, raw: Any) -> PriceQuote:
        return PriceQuote(
            symbol=query.base,
            price=float(raw["lastPrice"]),
            change_24h=_float(raw["priceChangePercent"]),
            high_24h=_float(raw["highPrice"]),
            low_24h=_float(raw["lowPrice"]),
            volume_24h=_float(raw["quoteVolume"]),
        )


class BinanceKlines(Fetcher[CandleQuery, list[Candle]]):
    name = upstream = "binance"

    def build_request(self, query: CandleQuery) -> UpstreamRequest:
        # One more than asked: the newest row may be the unfinished candle, which is dropped.
        params: dict[str, Any] = {
            "symbol": binance_symbol(query.base, query.quote),
            "interval": query.timeframe,
            "limit": min(query.limit + 1, 1000),
            "startTime": query.since,
            "endTime": query.until,
        }
        return UpstreamRequest("/api/v3/klines", params, weight=2)

    def transform(self, query: CandleQuery, raw: Any) -> list[Candle]:
        return [
            Candle(t=int(row[0]), o=float(row[1]), h=float(row[2]), l=float(row[3]), c=float(row[4]), v=float(row[5]))
            for row in raw
        ]


class BinanceDepth(Fetcher[PairQuery, OrderBook]):
    name = upstream = "binance"

    def build_request(self, query: PairQuery) -> UpstreamRequest:
        limit = next(size for size in DEPTH_LIMITS if size >= query.limit)
        return UpstreamRequest(
            "/api/v3/depth",
            {"symbol": binance_symbol(query.base, query.quote), "limit": limit},
            weight=DEPTH_WEIGHTS[limit],
        )

    def transform(self, query: PairQuery, raw: Any) -> OrderBook:
        bids = [(float(price), float(amount)) for price, amount, *_ in raw["bids"]]
        asks = [(float(price), float(amount)) for price, amount, *_ in raw["asks"]]
        return OrderBook(symbol=query.pair, bids=bids[: query.limit], asks=asks[: query.limit])


class BinanceTrades(Fetcher[PairQuery, list[Trade]]):
    """Recent trades; with `since`, aggregated trades from that time (Binance's trades take no start time)."""

    name = upstream = "binance"

    def build_request(self, query: PairQuery) -> UpstreamRequest:
        symbol = binance_symbol(query.base, query.quote)
        if query.since is not None:
            return UpstreamRequest(
                "/api/v3/aggTrades", {"symbol": symbol, "startTime": query.since, "limit": query.limit}, weight=4
            )
        return UpstreamRequest("/api/v3/trades", {"symbol": symbol, "limit": query.limit}, weight=25)

    def transform(self, query: PairQuery, raw: Any) -> list[Trade]:
        if query.since is not None:
            return [
                Trade(
                    id=str(row["a"]),
                    timestamp=int(row["T"]),
                    price=float(row["p"]),
                    amount=float(row["q"]),
                    side="sell" if row["m"] else "buy",
                )
                for row in raw
            ]
        # isBuyerMaker: the buyer's order rested on the book, so the taker sold. Binance lists oldest first;
        # recent trades are answered newest first (with `since`, forward from it, as above).
        return [
            Trade(
                id=str(row["id"]),
                timestamp=int(row["time"]),
                price=float(row["price"]),
                amount=float(row["qty"]),
                side="sell" if row["isBuyerMaker"] else "buy",
            )
            for row in raw
        ][::-1]


class BinanceExchangeInfo(Fetcher[None, ExchangeInfo]):
    name = upstream = "binance"

    def build_request(self, query: None) -> UpstreamRequest:
        return UpstreamRequest("/api/v3/exchangeInfo", {}, weight=20)

    def transform(self, query: None, raw: Any) -> ExchangeInfo:
        return ExchangeInfo(exchange="binance", symbols=[_exchange_symbol(row) for row in raw["symbols"]])


def _exchange_symbol(row: dict[str, Any]) -> ExchangeSymbol:
    filters = {item["filterType"]: item for item in row.get("filters", [])}
    lot, price = filters.get("LOT_SIZE", {}), filters.get("PRICE_FILTER", {})
    return ExchangeSymbol(
        symbol=f"{row['baseAsset']}/{row['quoteAsset']}",
        base=row["baseAsset"],
        quote=row["quoteAsset"],
        active=row["status"] == "TRADING",
        min_amount=_positive(lot.get("minQty")),
        max_amount=_positive(lot.get("maxQty")),
        min_price=_positive(price.get("minPrice")),
        max_price=_positive(price.get("maxPrice")),
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
    )


def _positive(value: Any) -> float | None:
    number = _float(value)
    return number if number else None  # Binance sends "0.00000000" for "no limit"


class BinanceHistory(Fetcher[HistoryQuery, list[HistoryPoint]]):
    """Price history from USDT candles: close prices and traded value; Binance knows no market caps."""

    name = upstream = "binance"

    def build_request(self, query: HistoryQuery) -> UpstreamRequest:
        return UpstreamRequest(
            "/api/v3/klines",
            {
                "symbol": binance_symbol(query.symbol, "USD"),
                "interval": query.interval,
                "startTime": query.start,
                "endTime": query.end,
                "limit": 1000,
            },
            weight=2,
        )

    def transform(self, query: HistoryQuery, raw: Any) -> list[HistoryPoint]:
        return [HistoryPoint(timestamp=int(row[0]), price=float(row[4]), volume=float(row[7])) for row in raw]
