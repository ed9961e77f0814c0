"""Typed settings read from the environment, one object per service process.

Every service builds its settings through `get_settings()` (cached) or explicitly in its app factory, so
tests can construct apps with their own values. Variable names are the upper-case field names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ServiceName = Literal["market", "news", "sentiment", "ai", "stream"]


class CacheTTLs(BaseSettings):
    """Fresh lifetimes per data type, in seconds (the contract's defaults). `CACHE_TTL_<TYPE>` overrides."""

    model_config = SettingsConfigDict(env_prefix="CACHE_TTL_", extra="ignore")

    price: float = 5
    ticker: float = 5
    orderbook: float = 2
    trades: float = 5
    ohlcv: float = 60
    market: float = 60
    stats: float = 300
    news: float = 300
    sentiment: float = 600
    signals: float = 120
    default: float = 60
    # How long a value stays available for stale-if-error after it stops being fresh.
    stale_retention: float = 86_400

    def for_kind(self, kind: str) -> float:
        value = getattr(self, kind, None)
        return float(value) if isinstance(value, (int, float)) else self.default


class UpstreamBudgets(BaseSettings):
    """Outbound call budgets shared by all replicas (held in Redis): units per window."""

    model_config = SettingsConfigDict(env_prefix="BUDGET_", extra="ignore")

    coingecko_per_min: int = 50
    binance_weight_per_min: int = 1200
    newsapi_per_day: int = 100
    cryptopanic_per_day: int = 500
    default_per_min: int = 60


class Settings(BaseSettings):
    """Settings common to every service; each upstream's base URL and API key is configurable."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "suite"
    version: str = "0.1.0"
    data_source: Literal["live", "sandbox"] = "live"
    log_level: str = "INFO"
    suite_host: str = "127.0.0.1"

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_s: float = 0.5
    nats_url: str = "nats://127.0.0.1:4222"

    market_url: str = "http://127.0.0.1:8101"
    news_url: str = "http://127.0.0.1:8102"
    sentiment_url: str = "http://127.0.0.1:8103"
    ai_url: str = "http://127.0.0.1:8104"
    stream_url: str = "http://127.0.0.1:8105"

    coingecko_base_url: str = "https://api.coingecko.com/api/v3"
    coingecko_api_key: str | None = None
    coincap_base_url: str = "https://api.coincap.io/v2"
    coincap_api_key: str | None = None
    binance_base_url: str = "https://api.binance.com"
    binance_ws_url: str = "wss://stream.binance.com:9443"
    kraken_base_url: str = "https://api.kraken.com"
    cryptopanic_base_url: str = "https://cryptopanic.com/api/free/v1"
    cryptopanic_api_key: str | None = None
    newsapi_base_url: str = "https://newsapi.org"
    newsapi_api_key: str | None = None
    rss_coindesk_url: str = "https://www.coindesk.com/arc/outboundfeeds/rss/"
    rss_cointelegraph_url: str = "https://cointelegraph.com/rss"
    rss_decrypt_url: str = "https://decrypt.co/feed"
    alternative_me_base_url: str = "https://api.alternative.me"
    etherscan_base_url: str = "https://api.etherscan.io/v2"
    etherscan_api_key: str | None = None
    blockchair_base_url: str = "https://api.blockchair.com"
    blockchair_api_key: str | None = None
    mempool_base_url: str = "https://mempool.space/api"
    whale_alert_base_url: str = "https://api.whale-alert.io/v1"
    whale_alert_api_key: str | None = None

    upstream_timeout_s: float = Field(8.0, gt=0)
    upstream_retries: int = Field(2, ge=0, le=5)
    upstream_backoff_s: float = Field(0.2, ge=0)
    breaker_failures: int = Field(5, ge=1, description="consecutive failures that open an upstream's breaker")
    breaker_reset_s: float = Field(30.0, gt=0, description="how long an open breaker waits before a trial call")
    single_flight_lock_s: float = Field(10.0, gt=0)

    # Comma-separated valid API keys; empty means keys are not checked (open deployment).
    api_keys: str = ""

    # Live ingest (market service): whether this replica may ingest, and which pairs (comma-separated, any
    # accepted spelling). Pairs the exchange does not list are dropped at start, so the default is safe.
    ingest_enabled: bool = True
    ingest_symbols: str = Field(
        "BTC/USDT,ETH/USDT,BNB/USDT,SOL/USDT,XRP/USDT,ADA/USDT,DOGE/USDT,TRX/USDT,TON/USDT,AVAX/USDT,DOT/USDT,"
        "LINK/USDT,POL/USDT,LTC/USDT,BCH/USDT,SHIB/USDT,UNI/USDT,ATOM/USDT,XLM/USDT,ETC/USDT",
        description="comma-separated pairs the market service ingests live (MATIC trades as POL since 2024)",
    )

    # News (news service): one poll per interval per source across all replicas, sized to the daily budgets
    # (CryptoPanic 500/day → every 5 min = 288/day; NewsAPI 100/day → every 15 min = 96/day).
    news_poll_rss_s: float = Field(120.0, gt=0, description="seconds between polls of each RSS feed")
    news_poll_cryptopanic_s: float = Field(300.0, gt=0, description="seconds between CryptoPanic polls")
    news_poll_newsapi_s: float = Field(900.0, gt=0, description="seconds between NewsAPI polls")
    news_retention_days: float = Field(7.0, gt=0, description="how long articles are kept and served")
    news_score_retry_s: float = Field(15.0, gt=0, description="how often unscored articles are offered to ai again")

    # Per-symbol sentiment (sentiment service): the window of scored news it aggregates, and the half-life
    # of an article's weight in it.
    sentiment_window_h: float = Field(72.0, gt=0, description="hours of scored news per-symbol sentiment covers")
    sentiment_half_life_h: float = Field(24.0, gt=0, description="hours after which an article counts half")

    # WebSocket streaming (stream service).
    stream_heartbeat_s: float = Field(30.0, gt=0, description="seconds between heartbeat messages")
    stream_idle_timeout_s: float = Field(
        300.0, gt=0, description="a WebSocket with no subscription and no client message for this long is closed"
    )
    stream_resume_window_s: float = Field(
        120.0, gt=0, description="how long a disconnected WebSocket session can be resumed (and events are kept)"
    )

    ttl: CacheTTLs = Field(default_factory=CacheTTLs)
    budgets: UpstreamBudgets = Field(default_factory=UpstreamBudgets)

    @property
    def news_retention_s(self) -> float:
        """NEWS_RETENTION_DAYS in seconds: the news store's window and the NEWS stream's max age."""
        return self.news_retention_days * 86_400

    def service_urls(self) -> dict[str, str]:
        return {
            "market": self.market_url,
            "news": self.news_url,
            "sentiment": self.sentiment_url,
            "ai": self.ai_url,
            "stream": self.stream_url,
        }

    def valid_api_keys(self) -> frozenset[str]:
        return frozenset(key.strip() for key in self.api_keys.split(",") if key.strip())


@lru_cache
def get_settings() -> Settings:
    return Settings()
