"""The shared NATS helpers against the suite's real NATS server: typed publish/subscribe and
request/reply in a queue group, invalid payloads skipped, and a service starting before NATS."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from harness import Suite, free_port
from suite_shared.bus import Bus
from suite_shared.subjects import market_ticker
from suite_shared.symbols import parse_pair


class Tick(BaseModel):
    symbol: str
    price: float


class Question(BaseModel):
    n: int


class Answer(BaseModel):
    n: int
    by: str


async def connected_bus(url: str, name: str) -> Bus:
    bus = Bus(url, name)
    bus.start()
    assert await bus.wait_connected(5)
    return bus


async def test_typed_publish_reaches_subscriber_and_invalid_payloads_are_skipped(suite: Suite) -> None:
    bus = await connected_bus(suite.env.values["NATS_URL"], "test-pub")
    received: list[Tick] = []

    async def on_tick(tick: Tick, _msg: object) -> None:
        received.append(tick)

    assert market_ticker(parse_pair("btc-usdt")) == "market.ticker.btcusdt"
    # A pair nobody ingests: the running suite's live ingest publishes real BTC ticks on the same pattern.
    subject = market_ticker(parse_pair("bus-usdt"))
    await bus.subscribe(subject, Tick, on_tick)
    await bus.publish_raw(subject, b'{"symbol": "BUS/USDT"}')  # missing price: skipped, not crashing
    await bus.publish(subject, Tick(symbol="BUS/USDT", price=42.5))
    await asyncio.sleep(0.3)
    assert received == [Tick(symbol="BUS/USDT", price=42.5)]
    await bus.close()


async def test_requests_are_shared_by_a_queue_group(suite: Suite) -> None:
    url = suite.env.values["NATS_URL"]
    workers = [await connected_bus(url, f"worker-{i}") for i in range(2)]
    for index, worker in enumerate(workers):

        async def answer(question: Question, by: str = f"worker-{index}") -> Answer:
            return Answer(n=question.n * 2, by=by)

        await worker.serve("test.double", Question, answer, queue="doublers")
    client = await connected_bus(url, "asker")
    answers = [await client.request("test.double", Question(n=n), Answer, timeout_s=2) for n in range(40)]
    assert [answer.n for answer in answers] == [n * 2 for n in range(40)]
    assert {answer.by for answer in answers} == {"worker-0", "worker-1"}
    for bus in (*workers, client):
        await bus.close()


async def test_bus_connects_once_nats_comes_up(suite: Suite) -> None:
    port = free_port()
    bus = Bus(f"nats://127.0.0.1:{port}", "late")
    bus.start()
    assert not await bus.wait_connected(0.5)
    run_dir = suite.run_dir / "nats-late"
    (run_dir / "nats").mkdir(parents=True, exist_ok=True)
    suite.spawn(
        "nats-late",
        "nats",
        f"tcp://127.0.0.1:{port}",
        NATS_PORT=str(port),
        NATS_MONITOR_PORT=str(free_port()),
        RUN_DIR=str(run_dir),
    )
    try:
        assert await bus.wait_connected(10)
    finally:
        await bus.close()
        suite.stop("nats-late")
