"""Every call the Dreammaker frontend makes (FRONTEND_CALLS.md), replayed against the real suite as its pages
make it: same method, URL, body and headers (its origin, http://localhost:5173; credentials where it sends
them), through a real Traefik configured as that frontend's deployment needs (CORS_ALLOW_ORIGINS), reading
the fields its code reads with the types it expects (after the unified client's unwrapping where it
applies). Every call passes except those the README's compatibility section lists as incompatible, and
those must really fail: the list is exactly the failures.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from frontend_calls import Call, load, problems, unwrap
from websockets.sync.client import ClientConnection, connect

from harness import Suite, free_port, hour_closing_candle, wait_for
from suite_shared.bus import Bus
from suite_shared.topics import MARKET_CANDLE

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "FRONTEND_CALLS.md"
FRONTEND = "http://localhost:5173"
CALLS = load()
WS_TIMEOUT_S = 45.0


def readme_incompatible() -> dict[str, str]:
    """The README's "Known incompatibilities" table: call (as `Call.key`) → why."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Known incompatibilities", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \|$", section, re.MULTILINE)
    return {call: why.strip() for call, why in rows}


INCOMPATIBLE = readme_incompatible()


@pytest.fixture(scope="module")
def frontend_gateway(suite: Suite) -> Iterator[str]:
    """A second Traefik in front of the session's services, with the setting the frontend's deployment needs."""
    ports = {name: str(free_port()) for name in ("GATEWAY_PORT", "GATEWAY_INTERNAL_PORT", "GATEWAY_METRICS_PORT")}
    url = f"http://127.0.0.1:{ports['GATEWAY_PORT']}"
    suite.spawn("gateway-frontend", "gateway", f"{url}/api/health", CORS_ALLOW_ORIGINS=FRONTEND, **ports)
    yield url
    suite.stop("gateway-frontend")


@pytest.fixture(scope="module")
def ready(frontend_gateway: str) -> str:
    """The suite has what the pages read: scored news about BTC (CoinDesk among the sources) and signals."""
    with httpx.Client(base_url=frontend_gateway, timeout=15) as client:
        wait_for(lambda: client.get("/api/sentiment/symbol/BTC").json().get("sentiment_score") is not None, 90)
        wait_for(lambda: client.get("/api/news", params={"source": "CoinDesk"}).json().get("news"), 60)
        wait_for(lambda: client.get("/api/ai/signals").status_code == 200, 60)
    return frontend_gateway


@pytest.fixture(scope="module")
def outcomes(ready: str, suite: Suite) -> dict[str, list[str]]:
    """Each call (by key) → what its page would not get; replayed once, shared by the tests below."""
    return {call.key: replay(call, ready, suite) for call in CALLS}


def replay(call: Call, gateway: str, suite: Suite) -> list[str]:
    if call.method == "WS":
        return replay_websocket(call, gateway, suite)
    headers = {"Origin": FRONTEND}
    if call.credentials:
        headers["Cookie"] = "session=frontend-test"  # what `credentials: 'include'` adds
    response = httpx.request(call.method, gateway + call.url, json=call.body, headers=headers, timeout=30)
    found = cors_problems(response, call)
    if response.status_code != 200:
        return [*found, f"HTTP {response.status_code}: {response.text[:200]}"]
    body = response.json()
    if call.bare_array and not isinstance(body, list):
        found.append("expects a bare JSON array (throws 'Invalid response: expected array of OHLC bars')")
    return found + problems(unwrap(body) if call.unwraps else body, call.reads)


def cors_problems(response: httpx.Response, call: Call) -> list[str]:
    """What keeps a browser on the frontend's origin from handing the answer to the page."""
    allowed = response.headers.get("Access-Control-Allow-Origin")
    if call.credentials and (allowed != FRONTEND or response.headers.get("Access-Control-Allow-Credentials") != "true"):
        return [f"a credentialed request is refused: Allow-Origin {allowed!r}"]
    return [] if allowed in (FRONTEND, "*") else [f"Allow-Origin {allowed!r} refuses {FRONTEND}"]


# -- WebSocket ----------------------------------------------------------------------------------------------


def replay_websocket(call: Call, gateway: str, suite: Suite) -> list[str]:
    check = WS_EXPECTATIONS[json.dumps(call.body, sort_keys=True)]
    url = gateway.replace("http://", "ws://") + call.url
    with connect(url, additional_headers={"Origin": FRONTEND}, open_timeout=10) as socket:
        socket.send(json.dumps(call.body))
        if call.body == {"type": "subscribe", "symbol": "BTCUSDT"}:
            close_an_hour(suite)  # signals are made when an hour closes: have ai make BTC's now
        return check(socket)


def close_an_hour(suite: Suite) -> None:
    async def publish() -> None:
        bus = Bus(suite.env.values["NATS_URL"], "frontend-replay")
        bus.start()
        assert await bus.wait_connected(5)
        await bus.publish(
            MARKET_CANDLE, hour_closing_candle(), subject=MARKET_CANDLE.subject(timeframe="1m", pair="btcusdt")
        )
        await bus.close()

    asyncio.run(publish())


def frames_until(socket: ClientConnection, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    deadline = time.monotonic() + WS_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            return None
        if wanted(frame):
            return frame
    return None


def expect(wanted: Callable[[dict[str, Any]], bool], what: str) -> Callable[[ClientConnection], list[str]]:
    def check(socket: ClientConnection) -> list[str]:
        return [] if frames_until(socket, wanted) is not None else [f"no {what} within {WS_TIMEOUT_S:.0f} s"]

    return check


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def first_frame_is_the_rest_answer(socket: ClientConnection) -> list[str]:
    first = json.loads(socket.recv(timeout=10))
    return [] if "global" in first else [f"first frame is {first.get('type')!r}, not /api/stats's answer"]


WS_EXPECTATIONS: dict[str, Callable[[ClientConnection], list[str]]] = {
    json.dumps(message, sort_keys=True): check
    for message, check in [
        ({"type": "ping"}, expect(lambda f: f.get("type") == "pong", "pong")),
        (
            {"action": "subscribe", "type": "market_data", "symbols": ["BTCUSDT"]},
            expect(
                lambda f: f.get("type") == "market_data" and f.get("symbol") == "BTCUSDT" and is_number(f.get("price")),
                "market_data frame for BTCUSDT with a price",
            ),
        ),
        (
            {"type": "subscribe", "topic": "price_update"},
            expect(lambda f: f.get("type") == "price_update" and is_number(f.get("price")), "price_update frame"),
        ),
        (
            {"type": "subscribe", "symbol": "BTCUSDT"},
            expect(
                lambda f: (
                    f.get("type") == "signal_update"
                    and isinstance((f.get("data") or {}).get("stages", {}).get("stage1"), dict)
                ),
                "signal_update frame with data.stages.stage1",
            ),
        ),
        ({"action": "subscribe", "service": "/api/stats"}, first_frame_is_the_rest_answer),
    ]
}


# -- the tests ----------------------------------------------------------------------------------------------


def test_the_list_replayed_is_the_shared_one() -> None:
    copy = (Path(__file__).with_name("FRONTEND_CALLS.md")).read_text()
    if SHARED.exists():
        assert copy.split("-->\n", 1)[1] == SHARED.read_text(), "tests/frontend/FRONTEND_CALLS.md is out of date"
    assert len(CALLS) == 36 and sum(call.method == "WS" for call in CALLS) == 5
    assert all(call.reads or call.method == "WS" for call in CALLS)
    assert {json.dumps(call.body, sort_keys=True) for call in CALLS if call.method == "WS"} == set(WS_EXPECTATIONS)


def test_every_listed_incompatibility_is_a_call_of_the_frontend() -> None:
    assert INCOMPATIBLE, "the README lists no incompatibilities"
    assert set(INCOMPATIBLE) <= {call.key for call in CALLS}
    assert all(len(why) > 40 for why in INCOMPATIBLE.values()), "each needs its reason"


@pytest.mark.parametrize("call", CALLS, ids=[call.key for call in CALLS])
def test_frontend_call(call: Call, outcomes: dict[str, list[str]]) -> None:
    found = outcomes[call.key]
    if call.key in INCOMPATIBLE:
        assert found, f"the README lists {call.key} as incompatible, but it works: take it off the list"
    else:
        assert found == [], f"{call.key}: {found}"
