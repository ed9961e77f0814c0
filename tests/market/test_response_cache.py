"""Cached answers re-sent as kept bytes (suite_shared/response_cache.py) through the real gateway: the provenance
stays exact, a stale answer never comes from the kept bytes, and a record's end ends its kept answer."""

from __future__ import annotations

import time

import httpx

from contract import assert_ok
from harness import Suite


def answered_from_bytes(suite: Suite) -> float:
    """The market replica's count of answers sent from kept bytes (its own /metrics)."""
    for line in httpx.get(f"{suite.service_url('market')}/metrics").text.splitlines():
        if line.startswith('response_cache_answers_total{service="market"}'):
            return float(line.split()[-1])
    return 0.0


REFRESH_AHEAD_FROM_MS = 4000  # a 5 s ticker is refreshed ahead in its last fifth (cache.py)


def test_repeated_answers_come_from_bytes_with_exact_provenance(suite: Suite, gateway: httpx.Client) -> None:
    for _ in range(3):
        first = assert_ok(gateway.get("/api/ticker/ETC"))
        before = answered_from_bytes(suite)
        again = [assert_ok(gateway.get("/api/ticker/ETC")) for _ in range(5)]
        from_bytes = answered_from_bytes(suite) - before
        # On a loaded machine the six requests can reach the record's refresh-ahead window (one request is
        # then handed to the route) or its replacement: only then is another round taken, after the TTL.
        refreshed = any(body["meta"]["as_of"] != first["meta"]["as_of"] for body in again)
        if from_bytes == 5 or not (refreshed or again[-1]["meta"]["age_ms"] >= REFRESH_AHEAD_FROM_MS):
            break
        time.sleep(5.2)
    assert from_bytes == 5
    for body in again:
        meta = body["meta"]
        assert (meta["cache"], meta["stale"], meta["source"]) == ("hit", False, first["meta"]["source"])
        assert meta["as_of"] == first["meta"]["as_of"]
        # Rendered at sending: the answer's age is its timestamp minus the data's time, to the millisecond.
        assert meta["age_ms"] == body["timestamp"] - meta["as_of"]
        assert {key: body[key] for key in ("symbol", "bid", "ask", "last")} == {
            key: first[key] for key in ("symbol", "bid", "ask", "last")
        }
    assert [body["timestamp"] for body in again] == sorted(body["timestamp"] for body in again)


def test_an_order_book_keeps_its_datas_timestamp(suite: Suite, gateway: httpx.Client) -> None:
    first = assert_ok(gateway.get("/api/orderbook/XLM", params={"limit": 3}))
    again = assert_ok(gateway.get("/api/orderbook/XLM", params={"limit": 3}))
    if again["meta"]["as_of"] == first["meta"]["as_of"]:  # not refreshed in between (2 s TTL)
        assert again["timestamp"] == first["timestamp"] == again["meta"]["as_of"]
        assert again["bids"] == first["bids"] and len(again["bids"]) == 3


def test_stale_answers_never_come_from_bytes(sandbox: Suite, gateway: httpx.Client) -> None:
    fresh = assert_ok(gateway.get("/api/ticker/ATOM"))
    assert_ok(gateway.get("/api/ticker/ATOM"))
    time.sleep(5.2)  # the ticker TTL is 5 s
    sandbox.set_fault("binance", "status", status=500, path_contains="/api/v3/ticker")
    sandbox.set_fault("kraken", "status", status=500)
    before = answered_from_bytes(sandbox)
    for _ in range(3):
        stale = assert_ok(gateway.get("/api/ticker/ATOM"))
        assert (stale["meta"]["stale"], stale["meta"]["cache"]) == (True, "stale")
        assert stale["meta"]["as_of"] == fresh["meta"]["as_of"] and stale["last"] == fresh["last"]
    assert answered_from_bytes(sandbox) == before
    sandbox.clear_faults()
    recovered = assert_ok(gateway.get("/api/ticker/ATOM"))
    assert (recovered["meta"]["cache"], recovered["meta"]["stale"]) == ("miss", False)
    assert recovered["meta"]["as_of"] > fresh["meta"]["as_of"]
