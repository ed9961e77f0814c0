"""Whole answers re-served from the response cache: only while their records are the fresh in-process ones,
and with exact provenance (a hit, `age_ms` measured at sending, `stale` false)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from suite_shared.cache import Cache, Fetched
from suite_shared.envelope import Envelope, now_ms
from suite_shared.errors import UpstreamUnavailable, install_error_handlers
from suite_shared.redis_link import RedisLink
from suite_shared.response_cache import ResponseCache, ResponseCacheMiddleware, reusable_answer
from suite_shared.settings import CacheTTLs


class PriceAnswer(Envelope):
    symbol: str
    price: float


class BookAnswer(Envelope):
    symbol: str
    bids: list[list[float]]


class Upstream:
    """What the routes' fetches return, and how often the routes and the fetches ran."""

    def __init__(self) -> None:
        self.price = 100.0
        self.delay_s = 0.0
        self.failing = False
        self.fetches = 0
        self.route_runs = 0

    async def fetch(self) -> Fetched:
        self.fetches += 1
        await asyncio.sleep(self.delay_s)
        if self.failing:
            raise UpstreamUnavailable("every source failed")
        return Fetched({"symbol": "BTC/USDT", "price": self.price}, "binance", ["binance"], now_ms() - 40)


def service(upstream: Upstream, ttl_s: float) -> tuple[FastAPI, Cache]:
    # Port 9 (discard) is closed: every Redis call fails fast and the cache works in-process.
    cache = Cache(RedisLink("redis://127.0.0.1:9/0", "test", timeout_s=0.2), CacheTTLs(price=ttl_s), "test")
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/price", response_model=PriceAnswer)
    async def price(convert: str = "usd") -> PriceAnswer:
        upstream.route_runs += 1
        result = await cache.get_or_fetch("price", "BTC", upstream.fetch)
        reusable_answer(result)
        return PriceAnswer(**result.value, meta=result.meta())

    @app.get("/book", response_model=BookAnswer)
    async def book() -> BookAnswer:
        upstream.route_runs += 1
        result = await cache.get_or_fetch("price", "book", upstream.fetch)
        reusable_answer(result, timestamp_is_as_of=True)
        return BookAnswer(symbol="BTC/USDT", bids=[[1.0, 2.0]], timestamp=result.record.as_of, meta=result.meta())

    @app.get("/uncached", response_model=PriceAnswer)
    async def uncached() -> PriceAnswer:
        upstream.route_runs += 1
        result = await cache.get_or_fetch("price", "BTC", upstream.fetch)
        return PriceAnswer(**result.value, meta=result.meta())  # no reusable_answer: never re-served

    app.add_middleware(ResponseCacheMiddleware, cache=ResponseCache(), service="test")
    return app, cache


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
async def client(upstream: Upstream) -> AsyncIterator[httpx.AsyncClient]:
    app, _ = service(upstream, ttl_s=0.3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


async def get(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-length"] == str(len(response.content))
    body: dict[str, Any] = orjson.loads(response.content)
    return body


async def test_a_repeated_get_is_served_from_bytes_with_exact_provenance(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    first = await get(client, "/price")
    await asyncio.sleep(0.02)
    again = await get(client, "/price")
    assert upstream.route_runs == 1 and upstream.fetches == 1  # the second answer never reached the route
    assert first["meta"]["cache"] == "miss"
    meta = again["meta"]
    assert (meta["cache"], meta["stale"], meta["source"], meta["sources_tried"]) == (
        "hit",
        False,
        "binance",
        ["binance"],
    )
    assert meta["as_of"] == first["meta"]["as_of"]
    # age_ms is the age at sending: the answer's timestamp minus the data's time, to the millisecond.
    assert meta["age_ms"] == again["timestamp"] - meta["as_of"] >= first["meta"]["age_ms"] + 20
    assert again["timestamp"] >= first["timestamp"] + 20
    assert {key: again[key] for key in ("success", "symbol", "price")} == {
        key: first[key] for key in ("success", "symbol", "price")
    }
    assert list(again) == list(first) and list(meta) == list(first["meta"])  # same keys, same order


async def test_the_fast_answer_is_what_the_route_would_have_answered(upstream: Upstream) -> None:
    """The same content, key order included, once the moment of sending is set aside: the route's own answer
    from the same fresh record."""
    app, _ = service(upstream, ttl_s=5)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        await http.get("/price")
        fast = await http.get("/price")
        slow = await http.get("/uncached")  # the route, answering from the same fresh record (a hit)
    assert upstream.route_runs == 2

    def moment_free(raw: bytes) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(raw)
        body.pop("timestamp")
        body["meta"].pop("age_ms")
        return body

    assert moment_free(fast.content) == moment_free(slow.content)
    assert list(orjson.loads(fast.content)) == list(orjson.loads(slow.content))
    assert orjson.loads(slow.content)["meta"]["cache"] == "hit"


async def test_an_expired_record_is_never_served_from_bytes(client: httpx.AsyncClient, upstream: Upstream) -> None:
    first = await get(client, "/price")
    upstream.price = 101.0
    await asyncio.sleep(0.35)  # past the 0.3 s TTL
    refreshed = await get(client, "/price")
    assert upstream.route_runs == 2 and upstream.fetches == 2
    assert refreshed["meta"]["cache"] == "miss" and refreshed["price"] == 101.0
    assert refreshed["meta"]["as_of"] > first["meta"]["as_of"]
    hit = await get(client, "/price")
    assert upstream.route_runs == 2 and hit["price"] == 101.0 and hit["meta"]["cache"] == "hit"


async def test_stale_if_error_answers_stay_on_the_route_and_say_stale(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    first = await get(client, "/price")
    await get(client, "/price")
    upstream.failing = True
    await asyncio.sleep(0.35)
    for _ in range(3):
        stale = await get(client, "/price")
        assert stale["meta"]["stale"] is True and stale["meta"]["cache"] == "stale"
        assert stale["meta"]["as_of"] == first["meta"]["as_of"] and stale["price"] == first["price"]
    assert upstream.route_runs == 4  # every stale answer came from the route, none from bytes
    upstream.failing = False
    assert (await get(client, "/price"))["meta"]["cache"] == "miss"


async def test_single_flight_holds_behind_the_response_cache(upstream: Upstream) -> None:
    app, _ = service(upstream, ttl_s=5)
    slow_fetch = upstream.fetch

    async def slow() -> Fetched:
        await asyncio.sleep(0.05)
        return await slow_fetch()

    upstream.fetch = slow  # type: ignore[method-assign]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        answers = await asyncio.gather(*(http.get("/price") for _ in range(50)))
        after = await http.get("/price")
    assert upstream.fetches == 1
    assert {answer.json()["meta"]["cache"] for answer in answers} == {"miss", "coalesced"}
    assert after.json()["meta"]["cache"] == "hit"


async def test_a_replaced_record_ends_the_entry_at_once(upstream: Upstream) -> None:
    app, cache = service(upstream, ttl_s=60)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        await http.get("/price")
        await http.get("/price")
        assert upstream.route_runs == 1
        upstream.price = 99.0
        cache.local._drop("cache:test:price:BTC")  # the record leaves the process (evicted, or replaced)
        again = (await http.get("/price")).json()
    assert upstream.route_runs == 2 and again["price"] == 99.0 and again["meta"]["cache"] == "miss"


async def test_near_expiry_one_request_reaches_the_route_and_the_record_is_refreshed_ahead(upstream: Upstream) -> None:
    app, _ = service(upstream, ttl_s=2)
    upstream.delay_s = 0.1
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        first = await get(http, "/price")
        await asyncio.sleep(1.7)  # in the last fifth of the 2 s fresh life
        upstream.price = 102.0
        near = [await get(http, "/price") for _ in range(5)]
        assert upstream.route_runs == 2  # one request went to the route: its hit started the refresh
        assert all(answer["meta"]["cache"] == "hit" and answer["price"] == 100.0 for answer in near)
        await asyncio.sleep(0.15)
        refreshed = await get(http, "/price")
    assert upstream.fetches == 2 and refreshed["price"] == 102.0 and refreshed["meta"]["cache"] == "hit"
    assert refreshed["meta"]["as_of"] > first["meta"]["as_of"]


async def test_a_data_timestamp_stays_the_datas(client: httpx.AsyncClient, upstream: Upstream) -> None:
    first = await get(client, "/book")
    again = await get(client, "/book")
    assert upstream.route_runs == 1
    assert again["timestamp"] == first["timestamp"] == again["meta"]["as_of"]


async def test_unknown_or_repeated_parameters_get_no_entry(client: httpx.AsyncClient, upstream: Upstream) -> None:
    for path in ("/price?junk=1", "/price?junk=1", "/price?convert=usd&convert=eur", "/price?convert=usd&convert=eur"):
        await get(client, path)
    assert upstream.route_runs == 4
    await get(client, "/price?convert=eur")
    await get(client, "/price?convert=eur")
    assert upstream.route_runs == 5


async def test_routes_that_do_not_declare_reusable_answers_always_run(
    client: httpx.AsyncClient, upstream: Upstream
) -> None:
    for _ in range(3):
        await get(client, "/uncached")
    assert upstream.route_runs == 3


async def test_fast_answers_count_as_cache_hits(client: httpx.AsyncClient) -> None:
    def counted(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    hits = {"namespace": "test", "kind": "price", "result": "hit"}
    await get(client, "/price")
    before = counted("cache_requests_total", hits), counted("response_cache_answers_total", {"service": "test"})
    for _ in range(5):
        await get(client, "/price")
    assert counted("cache_requests_total", hits) == before[0] + 5
    assert counted("response_cache_answers_total", {"service": "test"}) == before[1] + 5


def test_the_entries_are_bounded_in_bytes() -> None:
    from suite_shared.response_cache import Entry

    cache = ResponseCache(max_bytes=1024 * 1024)
    entry = Entry([b"{}"], b"", b"", 0, (), (), 2**62, [], None, 100 * 1024)
    for index in range(30):
        cache.store((f"/p{index}", b""), entry)
    assert cache.bytes <= 1024 * 1024 and len(cache) == 10
    assert cache.lookup(("/p0", b""), int(time.time() * 1000)) is None
    assert cache.lookup(("/p29", b""), int(time.time() * 1000)) is entry
