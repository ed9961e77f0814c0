"""The market service's upstreams and provider chains, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from suite_shared.providers import ProviderChain
from suite_shared.service import ServiceContext
from suite_shared.upstream import UpstreamConfig

from .models import (
    Candle,
    CandleQuery,
    ExchangeInfo,
    GlobalSnapshot,
    HistoryPoint,
    HistoryQuery,
    MarketCoin,
    MarketQuery,
    OrderBook,
    PairQuery,
    PriceQuote,
    Ticker,
    Trade,
)
from .providers import binance, kraken
from .providers.coincap import CoinCapAssets
from .providers.coincap_stats import CoinCapGlobal
from .providers.coingecko import CoinGeckoMarkets
from .providers.coingecko_stats import CoinGeckoGlobal, CoinGeckoHistory


@dataclass
class MarketChains:
    market: ProviderChain[MarketQuery, list[MarketCoin]]
    price: ProviderChain[PairQuery, PriceQuote]
    ticker: ProviderChain[PairQuery, Ticker]
    candles: ProviderChain[CandleQuery, list[Candle]]
    orderbook: ProviderChain[PairQuery, OrderBook]
    trades: ProviderChain[PairQuery, list[Trade]]
    exchange_info: ProviderChain[None, ExchangeInfo]
    stats: ProviderChain[None, GlobalSnapshot]
    history: ProviderChain[HistoryQuery, list[HistoryPoint]]


def register_upstreams(ctx: ServiceContext) -> None:
    settings, budgets = ctx.settings, ctx.settings.budgets
    ctx.upstreams.register(
        UpstreamConfig(
            "coingecko",
            settings.coingecko_base_url,
            budget=budgets.coingecko_per_min,
            api_key=settings.coingecko_api_key,
            api_key_header="x-cg-demo-api-key",
        )
    )
    coincap_auth = {"Authorization": f"Bearer {settings.coincap_api_key}"} if settings.coincap_api_key else {}
    ctx.upstreams.register(
        UpstreamConfig("coincap", settings.coincap_base_url, budget=budgets.default_per_min, headers=coincap_auth)
    )
    ctx.upstreams.register(UpstreamConfig("binance", settings.binance_base_url, budget=budgets.binance_weight_per_min))
    ctx.upstreams.register(UpstreamConfig("kraken", settings.kraken_base_url, budget=budgets.default_per_min))


def build_chains(ctx: ServiceContext) -> MarketChains:
    client = ctx.upstreams
    return MarketChains(
        market=ProviderChain("market", [CoinGeckoMarkets(client), CoinCapAssets(client)]),
        price=ProviderChain("price", [binance.BinancePrice(client), kraken.KrakenPrice(client)]),
        ticker=ProviderChain("ticker", [binance.BinanceTicker(client), kraken.KrakenTicker(client)]),
        candles=ProviderChain("ohlcv", [binance.BinanceKlines(client), kraken.KrakenOHLC(client)]),
        orderbook=ProviderChain("orderbook", [binance.BinanceDepth(client), kraken.KrakenDepth(client)]),
        trades=ProviderChain("trades", [binance.BinanceTrades(client), kraken.KrakenTrades(client)]),
        exchange_info=ProviderChain(
            "exchange_info", [binance.BinanceExchangeInfo(client), kraken.KrakenAssetPairs(client)]
        ),
        stats=ProviderChain("stats", [CoinGeckoGlobal(client), CoinCapGlobal(client)]),
        history=ProviderChain("history", [CoinGeckoHistory(client), binance.BinanceHistory(client)]),
    )
