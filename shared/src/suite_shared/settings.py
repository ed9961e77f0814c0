"""Typed settings read from the environment, one object per service process.

Every service builds its settings through `get_settings()` (cached) or explicitly in its app factory, so
tests can construct apps with their own values. Variable names are the upper-case field names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .errors import InvalidSymbol
from .keys import KeyRing
from .symbols import Pair, parse_pair

ServiceName = Literal["market", "news", "sentiment", "ai", "stream"]


@dataclass(frozen=True)
class UpstreamUrl:
    live: str  # the real API
    sandbox_path: str  # where the upstream sandbox imitates it, under its base URL


# Every upstream's base URL variable: its real address (the settings' default) and its path on the sandbox
# (which the launcher uses for DATA_SOURCE=sandbox). Providers only ever see the base URL.
UPSTREAMS: dict[str, UpstreamUrl] = {
    "COINGECKO_BASE_URL": UpstreamUrl("https://api.coingecko.com/api/v3", "/coingecko/api/v3"),
    "COINCAP_BASE_URL": UpstreamUrl("https://api.coincap.io/v2", "/coincap/v2"),
    "BINANCE_BASE_URL": UpstreamUrl("https://api.binance.com", "/binance"),
    "BINANCE_WS_URL": UpstreamUrl("wss://stream.binance.com:9443", "/binance-ws"),
    "KRAKEN_BASE_URL": UpstreamUrl("https://api.kraken.com", "/kraken"),
    "CRYPTOPANIC_BASE_URL": UpstreamUrl("https://cryptopanic.com/api/free/v1", "/cryptopanic/api/free/v1"),
    "NEWSAPI_BASE_URL": UpstreamUrl("https://newsapi.org", "/newsapi"),
    "RSS_COINDESK_URL": UpstreamUrl("https://www.coindesk.com/arc/outboundfeeds/rss/", "/rss/coindesk"),
    "RSS_COINTELEGRAPH_URL": UpstreamUrl("https://cointelegraph.com/rss", "/rss/cointelegraph"),
    "RSS_DECRYPT_URL": UpstreamUrl("https://decrypt.co/feed", "/rss/decrypt"),
    "ALTERNATIVE_ME_BASE_URL": UpstreamUrl("https://api.alternative.me", "/alternative-me"),
    "ETHERSCAN_BASE_URL": UpstreamUrl("https://api.etherscan.io/v2", "/etherscan/v2"),
    "BLOCKCHAIR_BASE_URL": UpstreamUrl("https://api.blockchair.com", "/blockchair"),
    "MEMPOOL_BASE_URL": UpstreamUrl("https://mempool.space/api", "/mempool/api"),
    "WHALE_ALERT_BASE_URL": UpstreamUrl("https://api.whale-alert.io/v1", "/whale-alert/v1"),
}
DEFAULT_INGEST_SYMBOLS = (
    "BTC/USDT,ETH/USDT,BNB/USDT,SOL/USDT,XRP/USDT,ADA/USDT,DOGE/USDT,TRX/USDT,TON/USDT,AVAX/USDT,DOT/USDT,"
    "LINK/USDT,POL/USDT,LTC/USDT,BCH/USDT,SHIB/USDT,UNI/USDT,ATOM/USDT,XLM/USDT,ETC/USDT"
)


def parse_pairs(text: str) -> tuple[Pair, ...]:
    """A comma-separated list of pairs in any accepted spelling → distinct pairs in order (ValueError on a
    malformed entry, naming it)."""
    pairs: list[Pair] = []
    for raw in filter(None, (part.strip() for part in text.split(","))):
        try:
            pair = parse_pair(raw)
        except InvalidSymbol as exc:
            raise ValueError(f"{raw!r} is not a pair (e.g. BTC/USDT)") from exc
        if pair not in pairs:
            pairs.append(pair)
    return tuple(pairs)


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
    # A page of stories kept in a news replica's memory: its own writes replace it at once, another
    # replica's are seen within this (the stories themselves live in Redis, see the news service).
    news_page: float = 5
    sentiment: float = 600
    signals: float = 120
    default: float = 60
    # How long a value stays available for stale-if-error after it stops being fresh.
    stale_retention: float = 86_400
    # How long a value that never changes (a closed candle window, a past price history) is kept: every
    # cache key expires, so Redis memory is bounded by what was asked within this time.
    final_retention: float = 7 * 86_400

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
    # The share of each budget one client (address or API key) may spend per window (at least one call).
    client_share: float = Field(0.25, gt=0, le=1)


class Settings(BaseSettings):
    """Settings common to every service; each upstream's base URL and API key is configurable."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "suite"
    version: str = "0.1.0"
    data_source: Literal["live", "sandbox"] = "live"
    log_level: str = "INFO"
    suite_host: str = "127.0.0.1"

    # Two Redis roles (see the README's "Cache and state"): state (news, sentiment, budgets, leases, sessions;
    # noeviction + AOF) and cache (provider answers, latest market values; LRU, no persistence). Either URL may be
    # redis-sentinel://host:port,.../<master>/<db> for a Sentinel-managed primary.
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_redis_url: str = "redis://127.0.0.1:6380/0"
    redis_timeout_s: float = 0.5
    # A state-Redis call that cannot connect while Redis was up is tried again for this long (a restart, a
    # Sentinel failover) before the service counts Redis as down: requests wait instead of failing. Set it
    # above the Sentinels' down-after plus their failover time to hide a failover from clients.
    redis_ride_through_s: float = Field(3.0, ge=0, le=30)
    nats_url: str = "nats://127.0.0.1:4222"

    market_url: str = "http://127.0.0.1:8101"
    news_url: str = "http://127.0.0.1:8102"
    sentiment_url: str = "http://127.0.0.1:8103"
    ai_url: str = "http://127.0.0.1:8104"
    stream_url: str = "http://127.0.0.1:8105"

    coingecko_base_url: str = UPSTREAMS["COINGECKO_BASE_URL"].live
    coingecko_api_key: str | None = None
    coincap_base_url: str = UPSTREAMS["COINCAP_BASE_URL"].live
    coincap_api_key: str | None = None
    binance_base_url: str = UPSTREAMS["BINANCE_BASE_URL"].live
    binance_ws_url: str = UPSTREAMS["BINANCE_WS_URL"].live
    kraken_base_url: str = UPSTREAMS["KRAKEN_BASE_URL"].live
    cryptopanic_base_url: str = UPSTREAMS["CRYPTOPANIC_BASE_URL"].live
    cryptopanic_api_key: str | None = None
    newsapi_base_url: str = UPSTREAMS["NEWSAPI_BASE_URL"].live
    newsapi_api_key: str | None = None
    rss_coindesk_url: str = UPSTREAMS["RSS_COINDESK_URL"].live
    rss_cointelegraph_url: str = UPSTREAMS["RSS_COINTELEGRAPH_URL"].live
    rss_decrypt_url: str = UPSTREAMS["RSS_DECRYPT_URL"].live
    alternative_me_base_url: str = UPSTREAMS["ALTERNATIVE_ME_BASE_URL"].live
    etherscan_base_url: str = UPSTREAMS["ETHERSCAN_BASE_URL"].live
    etherscan_api_key: str | None = None
    blockchair_base_url: str = UPSTREAMS["BLOCKCHAIR_BASE_URL"].live
    blockchair_api_key: str | None = None
    mempool_base_url: str = UPSTREAMS["MEMPOOL_BASE_URL"].live
    whale_alert_base_url: str = UPSTREAMS["WHALE_ALERT_BASE_URL"].live
    whale_alert_api_key: str | None = None

    upstream_timeout_s: float = Field(8.0, gt=0)
    upstream_retries: int = Field(2, ge=0, le=5)
    upstream_backoff_s: float = Field(0.2, ge=0)
    breaker_failures: int = Field(5, ge=1, description="consecutive failures that open an upstream's breaker")
    breaker_reset_s: float = Field(30.0, gt=0, description="how long an open breaker waits before a trial call")
    single_flight_lock_s: float = Field(10.0, gt=0)
    # The in-process cache in front of Redis, per service process, in bytes of encoded records.
    cache_local_max_bytes: int = Field(64 * 1024 * 1024, ge=1024 * 1024)
    # The garbage collector (gcpolicy.py): the young generation's threshold (Python's default is 700), and
    # whether long-lived objects are frozen out of full collections, and how often (seconds).
    gc_young_threshold: int = Field(20_000, ge=100)
    gc_freeze: bool = True
    gc_freeze_every_s: float = Field(10.0, gt=0)
    # Whole answers of cached reads, re-served as encoded bytes while their records stay fresh
    # (response_cache.py), per service process, bounded in bytes of encoded bodies.
    response_cache_enabled: bool = True
    response_cache_max_bytes: int = Field(16 * 1024 * 1024, ge=1024 * 1024)
    # Uncached keys (upstream fetches) each client may cause per minute, across replicas; past it uncached
    # keys answer 429 while cached ones keep answering (fairness.py).
    miss_allowance_per_min_ip: int = Field(30, ge=1)
    miss_allowance_per_min_key: int = Field(300, ge=1)

    # Comma-separated valid API keys; empty means there is no keyed tier (everyone is limited per IP).
    api_keys: str = ""
    # Comma-separated admin keys: valid API keys that also unlock operator views (the full /api/providers).
    admin_api_keys: str = ""
    # Request bodies above this are refused with 413 (the largest contract body is 64 texts of 2,000
    # characters, escaped: well under 1 MiB).
    request_body_max_bytes: int = Field(1_048_576, ge=1024)

    # Live ingest (market service): whether this replica may ingest, and which pairs (comma-separated, any
    # accepted spelling). Pairs the exchange does not list are dropped at start, so the default is safe.
    ingest_enabled: bool = True
    ingest_symbols: Annotated[tuple[Pair, ...], NoDecode] = Field(
        default_factory=lambda: parse_pairs(DEFAULT_INGEST_SYMBOLS),
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
    stream_max_connections: int = Field(20_000, ge=1, description="WebSocket connections one replica holds")
    stream_max_connections_per_client: int = Field(
        100, ge=1, description="WebSocket connections one client (address or API key) holds on one replica"
    )

    # JetStream: the streams' size caps (oldest dropped beyond) and the replicas of streams and KV buckets.
    nats_replicas: int = Field(
        1, ge=1, le=5, description="replicas of every JetStream stream and KV bucket (3 on a 3-node NATS cluster)"
    )
    stream_max_mib_market: int = Field(512, ge=1, description="MiB the MARKET stream keeps at most")
    stream_max_mib_news: int = Field(1024, ge=1, description="MiB the NEWS stream keeps at most")
    stream_max_mib_signals: int = Field(64, ge=1, description="MiB the SIGNALS stream keeps at most")

    ttl: CacheTTLs = Field(default_factory=CacheTTLs)
    budgets: UpstreamBudgets = Field(default_factory=UpstreamBudgets)

    @field_validator("ingest_symbols", mode="before")
    @classmethod
    def _pairs(cls, value: object) -> object:
        return parse_pairs(value) if isinstance(value, str) else value

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

    def key_ring(self) -> KeyRing:
        return KeyRing(_split(self.api_keys), _split(self.admin_api_keys))


def replica_urls(urls: str) -> list[str]:
    """The addresses a service URL setting lists: one, or several replicas comma-separated (the gateway
    spreads requests over them; the suite health asks them in turn)."""
    return [url.strip() for url in urls.split(",") if url.strip()]


def _split(text: str) -> frozenset[str]:
    return frozenset(item.strip() for item in text.split(",") if item.strip())


@lru_cache
def get_settings() -> Settings:
    return Settings()
