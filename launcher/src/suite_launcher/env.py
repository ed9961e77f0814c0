"""The suite's process environment, computed in one place.

`make run` and the integration tests both start NATS, Redis, the services, the sandbox and Traefik; this
module turns a handful of port settings and `DATA_SOURCE` into the full environment every process reads
(service URLs, Redis/NATS URLs, every upstream's base URL), so the two never drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from suite_shared.settings import UPSTREAMS

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
    "REDIS_CACHE_PORT": 6380,
}

DEFAULT_LIMITS: dict[str, int] = {
    "RATE_LIMIT_IP_PER_MIN": 100,
    "RATE_LIMIT_KEY_PER_MIN": 1000,
    "WS_CONNECT_PER_MIN_PER_IP": 60,
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

    # Where the internals listen (services, Redis, NATS, sandbox) and where the gateway listens are separate:
    # exposing the gateway (GATEWAY_HOST=0.0.0.0) exposes nothing else, and its metrics stay on loopback
    # unless GATEWAY_METRICS_HOST says otherwise.
    host = pick("SUITE_HOST", "127.0.0.1")
    pick("GATEWAY_HOST", "127.0.0.1")
    pick("GATEWAY_METRICS_HOST", "127.0.0.1")
    for name, port in {**DEFAULT_PORTS, **DEFAULT_LIMITS}.items():
        pick(name, port)
    data_source = pick("DATA_SOURCE", "live")
    if data_source not in ("live", "sandbox"):
        raise ValueError(f"DATA_SOURCE must be 'live' or 'sandbox', not {data_source!r}")

    for service in SERVICES:
        pick(f"{service.upper()}_URL", f"http://{host}:{values[f'{service.upper()}_PORT']}")
    sandbox_url = pick("SANDBOX_URL", f"http://{host}:{values['SANDBOX_PORT']}")
    pick("REDIS_URL", f"redis://{host}:{values['REDIS_PORT']}/0")
    pick("CACHE_REDIS_URL", f"redis://{host}:{values['REDIS_CACHE_PORT']}/0")
    pick("NATS_URL", f"nats://{host}:{values['NATS_PORT']}")

    for name, upstream in UPSTREAMS.items():
        if data_source == "sandbox":
            scheme_url = sandbox_url.replace("http://", "ws://") if name.endswith("_WS_URL") else sandbox_url
            pick(name, scheme_url + upstream.sandbox_path)
        else:
            pick(name, upstream.live)

    if data_source == "sandbox":
        # The sandbox checks that a key is sent, as the real APIs do, and accepts any.
        for name in SANDBOX_KEYED:
            pick(name, "sandbox-key")

    # Anything else the caller set (API keys, log level, TTL overrides) passes through untouched.
    for name, value in source.items():
        values.setdefault(name, value)
    return SuiteEnv(values)
