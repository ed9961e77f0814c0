"""The suite's process environment, computed in one place.

`make run` and the integration tests both start NATS, Redis, the services, the sandbox and Traefik; this
module turns a handful of port settings and `DATA_SOURCE` into the full environment every process reads
(service URLs, Redis/NATS URLs, every upstream's base URL), so the two never drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

SERVICES: tuple[str, ...] = ("market", "news", "sentiment", "ai", "stream")

DEFAULT_PORTS: dict[str, int] = {
    "GATEWAY_PORT": 8080,
    "GATEWAY_METRICS_PORT": 8082,
    "GATEWAY_INTERNAL_PORT": 8081,  # the gateway's loopback routing hop (see gateway/README.md)
    "MARKET_PORT": 8101,
    "NEWS_PORT": 8102,
    "SENTIMENT_PORT": 8103,
    "AI_PORT": 8104,
    "STREAM_PORT": 8105,
    "SANDBOX_PORT": 8199,
    "NATS_PORT": 4222,
    "NATS_MONITOR_PORT": 8222,
    "REDIS_PORT": 6379,
}

DEFAULT_LIMITS: dict[str, int] = {
    "RATE_LIMIT_IP_PER_MIN": 100,
    "RATE_LIMIT_KEY_PER_MIN": 1000,
    "WS_CONNECT_PER_MIN_PER_IP": 60,
}

# Real upstream base URLs (DATA_SOURCE=live) and their path prefix on the sandbox (DATA_SOURCE=sandbox).
# Providers only ever see the base URL, so pointing them at the sandbox is invisible to them.
UPSTREAMS: dict[str, tuple[str, str]] = {
    "COINGECKO_BASE_URL": ("https://api.coingecko.com/api/v3", "/coingecko/api/v3"),
    "COINCAP_BASE_URL": ("https://api.coincap.io/v2", "/coincap/v2"),
    "BINANCE_BASE_URL": ("https://api.binance.com", "/binance"),
    "BINANCE_WS_URL": ("wss://stream.binance.com:9443", "/binance-ws"),
    "KRAKEN_BASE_URL": ("https://api.kraken.com", "/kraken"),
    "CRYPTOPANIC_BASE_URL": ("https://cryptopanic.com/api/free/v1", "/cryptopanic/api/free/v1"),
    "NEWSAPI_BASE_URL": ("https://newsapi.org", "/newsapi"),
    "RSS_COINDESK_URL": ("https://www.coindesk.com/arc/outboundfeeds/rss/", "/rss/coindesk"),
    "RSS_COINTELEGRAPH_URL": ("https://cointelegraph.com/rss", "/rss/cointelegraph"),
    "RSS_DECRYPT_URL": ("https://decrypt.co/feed", "/rss/decrypt"),
    "ALTERNATIVE_ME_BASE_URL": ("https://api.alternative.me", "/alternative-me"),
    "ETHERSCAN_BASE_URL": ("https://api.etherscan.io/v2", "/etherscan/v2"),
    "BLOCKCHAIR_BASE_URL": ("https://api.blockchair.com", "/blockchair"),
    "MEMPOOL_BASE_URL": ("https://mempool.space/api", "/mempool/api"),
    "WHALE_ALERT_BASE_URL": ("https://api.whale-alert.io/v1", "/whale-alert/v1"),
}


SANDBOX_KEYED = ("NEWSAPI_API_KEY", "CRYPTOPANIC_API_KEY", "ETHERSCAN_API_KEY", "WHALE_ALERT_API_KEY")


@dataclass(frozen=True)
class SuiteEnv:
    """The resolved environment: a plain mapping of variable names to strings."""

    values: dict[str, str]

    def port(self, name: str) -> int:
        return int(self.values[f"{name.upper()}_PORT"])

    def url(self, service: str) -> str:
        return self.values[f"{service.upper()}_URL"]

    @property
    def gateway_url(self) -> str:
        return f"http://{self.values['GATEWAY_HOST']}:{self.values['GATEWAY_PORT']}"

    @property
    def sandbox(self) -> bool:
        return self.values["DATA_SOURCE"] == "sandbox"


def build_env(overrides: Mapping[str, str] | None = None, base: Mapping[str, str] | None = None) -> SuiteEnv:
    """Resolve every variable: explicit overrides, then `base` (the caller's environment), then defaults.

    Derived values (URLs) are only filled in when not set, so an operator can point a service at
    another host, or a provider at another upstream, without touching the ports.
    """
    source = dict(base if base is not None else os.environ)
    source.update(overrides or {})
    values: dict[str, str] = {}

    def pick(name: str, default: object) -> str:
        values[name] = str(source.get(name) or default)
        return values[name]

    host = pick("SUITE_HOST", "127.0.0.1")
    pick("GATEWAY_HOST", host)
    for name, port in {**DEFAULT_PORTS, **DEFAULT_LIMITS}.items():
        pick(name, port)
    data_source = pick("DATA_SOURCE", "live")
    if data_source not in ("live", "sandbox"):
        raise ValueError(f"DATA_SOURCE must be 'live' or 'sandbox', not {data_source!r}")

    for service in SERVICES:
        pick(f"{service.upper()}_URL", f"http://{host}:{values[f'{service.upper()}_PORT']}")
    sandbox_url = pick("SANDBOX_URL", f"http://{host}:{values['SANDBOX_PORT']}")
    pick("REDIS_URL", f"redis://{host}:{values['REDIS_PORT']}/0")
    pick("NATS_URL", f"nats://{host}:{values['NATS_PORT']}")

    for name, (live_url, sandbox_path) in UPSTREAMS.items():
        if data_source == "sandbox":
            scheme_url = sandbox_url.replace("http://", "ws://") if name.endswith("_WS_URL") else sandbox_url
            pick(name, scheme_url + sandbox_path)
        else:
            pick(name, live_url)

    if data_source == "sandbox":
        # The sandbox checks that a key is sent, as the real APIs do, and accepts any.
        for name in SANDBOX_KEYED:
            pick(name, "sandbox-key")

    # Anything else the caller set (API keys, log level, TTL overrides) passes through untouched.
    for name, value in source.items():
        values.setdefault(name, value)
    return SuiteEnv(values)
