"""The gateway, end to end: real Traefik (`traefik_command` + gateway/dynamic) in front of stub services.

Covers routing by prefix (and the exceptions), pairs in paths, the suite rewrites and catch-all, CORS
preflights, the 429 envelope with Retry-After, per-key buckets, WebSocket upgrades and their limit, the
health-checked suite pool and Traefik's own metrics.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import websockets
from gateway_harness import (
    HOSTILE_KEYS,
    STUB,
    assert_earns_no_bucket,
    assert_key_a_spellings_share_its_empty_bucket,
    envelope_code,
    free_port,
    kill_group,
    start_gateway,
    start_stubs,
)
from gateway_harness import wait_until as harness_wait  # tolerates a refused connection
from websockets.exceptions import InvalidStatus

if TYPE_CHECKING:
    from gateway_harness import Gateway, Stubs

# The limited gateway's settings (conftest.LIMITED): 5/min per IP, 4/min per key, 3 WebSocket connects/min.
IP_LIMIT, WS_LIMIT = 5, 3

ROUTES: list[tuple[str, str]] = [
    ("/api/market", "market"),
    ("/api/price/BTC", "market"),
    ("/api/ticker/BTC", "market"),
    ("/api/ohlcv", "market"),
    ("/api/orderbook/BTC", "market"),
    ("/api/trades/BTC", "market"),
    ("/api/exchange-info", "market"),
    ("/api/stats", "market"),
    ("/api/stats/dominance", "market"),
    ("/api/history/price/BTC", "market"),
    ("/api/blockchain/whale-alerts", "market"),
    ("/api/providers", "market"),
    ("/api/news/latest", "news"),
    ("/api/sentiment/global", "sentiment"),
    ("/api/sentiment/symbol/BTC", "sentiment"),
    ("/api/sentiment/analyze", "ai"),
    ("/api/ai/signals", "ai"),
    ("/api/models", "ai"),
    ("/ws/ticker", "stream"),
]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll `check` every 50 ms until true; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize(("path", "service"), ROUTES)
def test_prefix_goes_to_its_owner_unchanged(gateway: Gateway, path: str, service: str) -> None:
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 200
    assert response.json()["service"] == service
    assert response.json()["path"] == path


def test_prefix_does_not_swallow_longer_words(gateway: Gateway) -> None:
    # `/api/statsx` is not `/api/stats`: it falls to the catch-all, served by the whole suite pool.
    with gateway.client() as client:
        answered = {client.get("/api/statsx").json()["service"] for _ in range(10)}
    assert len(answered) > 1


@pytest.mark.parametrize("path", ["/api/ticker/BTC/USDT", "/api/ticker/BTC%2FUSDT", "/api/ticker/btc%2fusdt"])
def test_pair_in_path_reaches_market(gateway: Gateway, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 200
    seen = response.json()
    assert seen["service"] == "market"
    assert seen["path"].lower() == "/api/ticker/btc/usdt"
    # The encoded slash arrives encoded, so the service can tell it from a path separator.
    assert seen["raw_path"].upper() == path.upper()


@pytest.mark.parametrize("path", ["/health", "/api/health"])
def test_health_is_the_suite_health(gateway: Gateway, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy" and "answered_by" in response.json()


def test_docs_and_openapi_are_the_suite_ones(gateway: Gateway) -> None:
    docs = httpx.get(f"{gateway.url}/docs")
    assert docs.status_code == 200 and "swagger ui" in docs.text
    openapi = httpx.get(f"{gateway.url}/openapi.json")
    assert openapi.status_code == 200 and "x-answered-by" in openapi.json()
    # Swagger UI's own files come from the suite too (no CDN): /docs/assets/x is /suite/docs/assets/x.
    asset = httpx.get(f"{gateway.url}/docs/assets/swagger-ui.css")
    assert asset.status_code == 200 and asset.json()["path"] == "/suite/docs/assets/swagger-ui.css"


@pytest.mark.parametrize("path", ["/nope", "/api-nope", "/metrics"])
def test_unknown_paths_get_the_404_envelope(gateway: Gateway, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 404
    assert envelope_code(response) == "NOT_FOUND"


def test_cors_preflight_is_answered_by_traefik(gateway: Gateway) -> None:
    response = httpx.options(
        f"{gateway.url}/api/market",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "X-API-Key, Content-Type",
        },
    )
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "x-api-key" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers
    # A simple request carries the header too.
    simple = httpx.get(f"{gateway.url}/api/news/latest", headers={"Origin": "https://app.example"})
    assert simple.headers["Access-Control-Allow-Origin"] == "*"


def exhaust(gateway: Gateway, headers: dict[str, str] | None = None, limit: int = 50) -> httpx.Response:
    """Send requests until one is refused; return the 429."""
    with gateway.client() as client:
        for _ in range(limit):
            response = client.get("/api/news/latest", headers={"Origin": "https://app.example", **(headers or {})})
            if response.status_code == 429:
                return response
            assert response.status_code == 200
    raise AssertionError("never rate limited")


def test_ip_limit_answers_429_envelope_with_retry_after(limited_gateway: Gateway) -> None:
    started = time.monotonic()
    allowed = 0
    with limited_gateway.client() as client:
        while (
            response := client.get("/api/news/latest", headers={"Origin": "https://app.example"})
        ).status_code == 200:
            allowed += 1
    assert time.monotonic() - started < 10  # no refill in between: the count is the burst
    assert allowed <= IP_LIMIT
    assert response.status_code == 429
    assert envelope_code(response) == "RATE_LIMITED"
    assert response.headers["Retry-After"] == "12"  # ceil(60 s / 5)
    assert response.headers["RateLimit-Limit"] == "5"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_verified_key_has_one_bucket_whatever_its_spelling(limited_gateway: Gateway) -> None:
    exhaust(limited_gateway)  # the IP (no key) bucket is empty from here on
    refused = exhaust(limited_gateway, {"X-API-Key": "test-key-a"})
    assert envelope_code(refused) == "RATE_LIMITED"
    assert refused.headers["Retry-After"] == "15"  # ceil(60 s / 4)
    # The error page request carries no credentials (errorRequestHeaders), so a service's API-key check
    # cannot turn the 429 envelope into a 401 one.
    forwarded = refused.json()["error"]["details"]["headers"]
    assert "x-api-key" not in forwarded and "authorization" not in forwarded
    assert_key_a_spellings_share_its_empty_bucket(f"{limited_gateway.url}/api/news/latest")


@pytest.mark.parametrize(("headers", "status", "code"), HOSTILE_KEYS)
def test_an_invented_malformed_or_ambiguous_key_earns_no_bucket(
    limited_gateway: Gateway, headers: list[tuple[str, str]], status: int, code: str
) -> None:
    assert_earns_no_bucket(limited_gateway.url, headers, status, code)


def test_without_configured_keys_an_invented_key_is_just_an_anonymous_client(open_gateway: Gateway) -> None:
    with open_gateway.client() as client:
        statuses = [
            client.get("/api/news/latest", headers={"X-API-Key": f"invented-{index}"}).status_code
            for index in range(12)
        ]
    assert statuses.count(200) <= 5 and statuses[-1] == 429  # one per-IP bucket, whatever the keys


def test_a_client_cannot_claim_a_client_id_or_reach_the_suite_endpoints(gateway: Gateway) -> None:
    seen = httpx.get(f"{gateway.url}/api/market", headers={"X-Client-Id": "key:someone-else"}).json()
    assert "x-client-id" not in seen["headers"]
    for path in ("/suite/key-check", "/suite/errors/500", "/suite/health"):
        response = httpx.get(gateway.url + path)
        assert response.status_code == 404 and envelope_code(response) == "NOT_FOUND", path


def test_bodies_over_the_limit_are_refused_with_413(gateway: Gateway) -> None:
    response = httpx.post(f"{gateway.url}/api/sentiment/analyze", content=b"x" * (1_048_576 + 1))
    assert response.status_code == 413 and envelope_code(response) == "PAYLOAD_TOO_LARGE"


def test_websocket_upgrade_passes(gateway: Gateway) -> None:
    async def talk() -> tuple[dict[str, Any], str]:
        async with websockets.connect(gateway.url.replace("http://", "ws://") + "/ws") as ws:
            greeting = await ws.recv()
            await ws.send("ping through the gateway")
            return json.loads(greeting), str(await ws.recv())

    greeting, echo = asyncio.run(talk())
    assert greeting["service"] == "stream" and greeting["status"] == "connected"
    assert echo == "ping through the gateway"


def test_a_stopping_gateway_does_not_wait_for_subscribed_websockets(stubs: Stubs, tmp_path: Path) -> None:
    """A WebSocket never finishes on its own: with Traefik's default grace (10 s) every restart of a gateway
    with a subscriber would keep the port closed for 10 s. Ours waits GRACE_TIMEOUT (2 s), then exits."""
    own = start_gateway(stubs, tmp_path, {"RATE_LIMIT_IP_PER_MIN": "100000"})

    async def stop_while_subscribed() -> tuple[float, bool]:
        async with websockets.connect(own.url.replace("http://", "ws://") + "/ws") as ws:
            await ws.recv()
            started = time.monotonic()
            os.killpg(own.process.pid, signal.SIGTERM)
            await asyncio.to_thread(own.process.wait, 20)
            took = time.monotonic() - started
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                return took, True
            return took, False

    try:
        took, closed = asyncio.run(stop_while_subscribed())
    finally:
        kill_group(own.process)
    assert closed  # the subscriber was told, and reconnects
    assert 1.5 < took < 7.0, f"stopped after {took:.1f} s"  # the grace was given, and not Traefik's 10 s


def test_websocket_connects_are_limited_per_ip(limited_gateway: Gateway) -> None:
    async def connect_until_refused() -> tuple[int, InvalidStatus]:
        for attempt in range(10):
            try:
                async with websockets.connect(limited_gateway.url.replace("http://", "ws://") + "/ws") as ws:
                    await ws.recv()
            except InvalidStatus as refused:
                return attempt, refused
        raise AssertionError("never refused")

    attempts, refused = asyncio.run(connect_until_refused())
    assert attempts <= WS_LIMIT
    assert refused.response.status_code == 429
    assert refused.response.headers["Retry-After"] == "20"  # ceil(60 s / 3)
    assert json.loads(refused.response.body)["error"]["code"] == "RATE_LIMITED"


def test_a_dead_replica_of_two_costs_no_get_while_requests_interleave(stubs: Stubs, tmp_path: Path) -> None:
    """Before any health check has noticed it, a replica that refuses connections is skipped by the retry,
    even while other requests to the service interleave with the retries (as under steady client load)."""
    live, dead = f"http://127.0.0.1:{stubs.ports['market']}", f"http://127.0.0.1:{free_port()}"
    limits = {"RATE_LIMIT_IP_PER_MIN": "100000", "GATEWAY_HEALTHCHECK_INTERVAL": "600s", "MARKET_URL": f"{live},{dead}"}
    own = start_gateway(stubs, tmp_path, limits)

    async def load() -> list[int]:
        async with httpx.AsyncClient(base_url=own.url, timeout=5) as client:
            pending = []
            for _ in range(30):
                for path in ("/api/price/BTC", "/api/market", "/api/ohlcv"):
                    pending.append(asyncio.create_task(client.get(path)))
                    await asyncio.sleep(0.05)
            return [response.status_code for response in await asyncio.gather(*pending)]

    try:
        statuses = asyncio.run(load())
    finally:
        kill_group(own.process)
    assert statuses.count(200) == len(statuses), sorted(set(statuses))


def test_dead_backend_leaves_the_suite_pool(own_suite: tuple[Stubs, Gateway]) -> None:
    stubs, gateway = own_suite
    stubs.kill("news")
    # Its own routes answer the contract's 503/502 envelope, not Traefik's plain text.
    wait_until(lambda: httpx.get(f"{gateway.url}/api/news/latest").status_code == 503, "news marked down", 10)
    down = httpx.get(f"{gateway.url}/api/news/latest")
    assert envelope_code(down) == "UPSTREAM_UNAVAILABLE"
    news_url = f"http://127.0.0.1:{stubs.ports['news']}"
    wait_until(
        lambda: _suite_pool_marks_down(gateway.metrics_url, news_url),
        "health check to take news out of the suite pool",
        10,
    )
    with gateway.client() as client:
        answers = [client.get("/health") for _ in range(15)]
    assert all(answer.status_code == 200 for answer in answers)
    assert "news" not in {answer.json()["answered_by"] for answer in answers}


def test_error_envelopes_survive_a_dead_replica_still_in_the_pool(blind_suite: tuple[Stubs, Gateway]) -> None:
    # The error envelope is fetched from the suite pool, which still lists the dead service: without a retry
    # one fetch in five landed on it and the client got Traefik's plain "Bad Gateway".
    stubs, gateway = blind_suite
    stubs.kill("news")
    with gateway.client() as client:
        answers = [client.get("/api/news/latest") for _ in range(25)]
    # 502 while the backend refuses connections, 503 once its breaker opens: each in the contract's envelope.
    assert {(answer.status_code, envelope_code(answer)) for answer in answers} <= {
        (502, "UPSTREAM_ERROR"),
        (503, "UPSTREAM_UNAVAILABLE"),
    }


def _suite_pool_marks_down(metrics_url: str, server_url: str) -> bool:
    """True once the suite pool's own server gauge for `server_url` reads 0 (not the service's own pool)."""
    for line in httpx.get(f"{metrics_url}/metrics").text.splitlines():
        if (
            line.startswith("traefik_service_server_up{")
            and 'service="suite@file"' in line
            and (f'url="{server_url}"' in line or f'url="{server_url}/"' in line)
        ):
            return line.rstrip().endswith(" 0")
    return False


def test_traefik_metrics_on_the_metrics_port(gateway: Gateway) -> None:
    httpx.get(f"{gateway.url}/api/market")
    metrics = httpx.get(f"{gateway.metrics_url}/metrics")
    assert metrics.status_code == 200
    assert "traefik_entrypoint_requests_total" in metrics.text
    assert 'router="market@file"' in metrics.text and 'service="market@file"' in metrics.text
    assert httpx.get(f"{gateway.metrics_url}/ping").text == "OK"


def test_a_service_url_listing_two_replicas_spreads_requests_and_survives_one_dying(tmp_path: Path) -> None:
    private = start_stubs()
    second_port = free_port()
    second = subprocess.Popen(
        [sys.executable, str(STUB), "market-b", str(second_port)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    urls = f"http://127.0.0.1:{private.ports['market']}, http://127.0.0.1:{second_port}"
    try:
        harness_wait(lambda: httpx.get(f"http://127.0.0.1:{second_port}/health").status_code == 200, "second market")
        running = start_gateway(private, tmp_path, {"RATE_LIMIT_IP_PER_MIN": "100000", "MARKET_URL": urls})
        try:
            with running.client() as client:
                answered_by = {client.get("/api/market").json()["service"] for _ in range(10)}
                assert answered_by == {"market", "market-b"}
                kill_group(second)  # refused from now on: a GET is retried on the other replica
                answers = [client.get("/api/market") for _ in range(20)]
            assert [answer.status_code for answer in answers] == [200] * 20
            assert {answer.json()["service"] for answer in answers} == {"market"}
        finally:
            kill_group(running.process)
    finally:
        kill_group(second)
        private.stop()
