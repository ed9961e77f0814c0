"""The shared NATS bus against the suite's real NATS server: typed topics and endpoints only, invalid
messages skipped or answered, queue groups, worker pools, durable consumers, replay, and a service that
starts before NATS or registers work after connecting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from harness import Suite, free_port
from suite_shared.bus import Bus, NoReply, Redeliver
from suite_shared.errors import InvalidSymbol
from suite_shared.messages import Reply
from suite_shared.messages.market import TickerEvent
from suite_shared.streams import StreamSpec
from suite_shared.topics import MARKET_TICKER, Endpoint, Topic


class Tick(BaseModel):
    symbol: str
    price: float


class Question(BaseModel):
    n: int


class Answer(Reply):
    n: int = 0
    by: str = ""


async def connected_bus(url: str, name: str) -> Bus:
    bus = Bus(url, name)
    bus.start()
    assert await bus.wait_connected(5)
    return bus


async def eventually(condition: Callable[[], object], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"condition not met within {timeout_s}s"
        await asyncio.sleep(0.05)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def test_typed_publish_reaches_subscriber_and_invalid_payloads_are_skipped(suite: Suite) -> None:
    bus = await connected_bus(suite.env.values["NATS_URL"], "test-pub")
    topic = Topic(f"test.{unique('tick')}.{{pair}}", Tick, None, "at-most-once")
    received: list[Tick] = []

    async def on_tick(tick: Tick) -> None:
        received.append(tick)

    await bus.subscribe(topic, on_tick)
    subject = topic.subject(pair="bususdt")
    assert bus.nc is not None
    await bus.nc.publish(subject, b'{"symbol": "BUS/USDT"}')  # a foreign publisher: missing price, skipped
    await bus.publish(topic, Tick(symbol="BUS/USDT", price=42.5), subject=subject)
    await eventually(lambda: received, 3)
    await asyncio.sleep(0.2)
    assert received == [Tick(symbol="BUS/USDT", price=42.5)]
    await bus.close()


async def test_a_topic_only_carries_its_own_model(suite: Suite) -> None:
    bus = await connected_bus(suite.env.values["NATS_URL"], "test-types")
    with pytest.raises(TypeError, match="carries TickerEvent"):
        await bus.publish(MARKET_TICKER, Tick(symbol="BUS/USDT", price=1.0), subject="market.ticker.bususdt")
    await bus.close()


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the wrong-shaped request is on purpose
async def test_requests_are_shared_by_a_queue_group_and_errors_are_answered(suite: Suite) -> None:
    url = suite.env.values["NATS_URL"]
    endpoint = Endpoint(unique("test.double."), Question, Answer, queue="doublers")
    workers = [await connected_bus(url, f"worker-{i}") for i in range(2)]
    for index, worker in enumerate(workers):

        async def answer(question: Question, by: str = f"worker-{index}") -> Answer:
            if question.n < 0:
                raise InvalidSymbol("negative numbers are not symbols")
            if question.n == 13:
                raise RuntimeError("unlucky")
            return Answer(n=question.n * 2, by=by)

        await worker.serve(endpoint, answer)
    client = await connected_bus(url, "asker")
    answers = [await client.request(endpoint, Question(n=n), timeout_s=2) for n in range(40) if n != 13]
    assert [answer.n for answer in answers] == [n * 2 for n in range(40) if n != 13]
    assert {answer.by for answer in answers} == {"worker-0", "worker-1"}
    failures = {
        "api_error": await client.request(endpoint, Question(n=-1), timeout_s=2),
        "crash": await client.request(endpoint, Question(n=13), timeout_s=2),
        "wrong_shape": await client.request(endpoint, Question.model_construct(n="x"), timeout_s=2),  # type: ignore[arg-type]
    }
    assert {name: reply.error.code if reply.error else None for name, reply in failures.items()} == {
        "api_error": "INVALID_SYMBOL",
        "crash": "INTERNAL_ERROR",
        "wrong_shape": "VALIDATION_ERROR",
    }
    for bus in (*workers, client):
        await bus.close()


async def test_a_full_worker_pool_answers_busy_and_nobody_serving_is_no_reply(suite: Suite) -> None:
    url = suite.env.values["NATS_URL"]
    endpoint = Endpoint(unique("test.slow."), Question, Answer, queue="slow")
    release = asyncio.Event()
    server = await connected_bus(url, "slow-server")

    async def slow(question: Question) -> Answer:
        await release.wait()
        return Answer(n=question.n)

    await server.serve(endpoint, slow, workers=2, backlog=2)
    client = await connected_bus(url, "impatient")
    pending = [asyncio.create_task(client.request(endpoint, Question(n=n), timeout_s=5)) for n in range(8)]
    await asyncio.sleep(0.5)
    release.set()
    replies = await asyncio.gather(*pending)
    busy = [reply for reply in replies if reply.error is not None]
    assert len(busy) == 4 and {reply.error.code for reply in busy if reply.error} == {"SERVICE_UNAVAILABLE"}
    assert len([reply for reply in replies if reply.error is None]) == 4  # two working, two waiting
    with pytest.raises(NoReply):
        await client.request(Endpoint(unique("test.nobody."), Question, Answer, queue="x"), Question(n=1), 0.5)
    await server.close()
    await client.close()


async def test_a_durable_consumer_gets_a_message_again_when_its_handler_asks_for_it(suite: Suite) -> None:
    url = suite.env.values["NATS_URL"]
    name = unique("TESTBUS")
    topic = Topic(f"{name.lower()}.ticks", Tick, name, "at-least-once")
    bus = await connected_bus(url, "durable")
    await bus.ensure_stream(StreamSpec(name, (topic.pattern,), 60.0, 1024 * 1024))
    for price in (1.0, 2.0):
        await bus.publish_js(topic, Tick(symbol="X/USDT", price=price), msg_id=f"{name}:{price}")
    await bus.publish_js(topic, Tick(symbol="X/USDT", price=1.0), msg_id=f"{name}:1.0")  # a repeat: dropped
    assert bus.nc is not None
    await bus.nc.jetstream().publish(topic.template, b"not json")  # invalid: skipped and acknowledged
    seen: list[float] = []

    async def handle(tick: Tick) -> bool:
        seen.append(tick.price)
        if tick.price == 2.0 and seen.count(2.0) == 1:
            raise Redeliver("not now")
        return True

    consumer = bus.consume(topic, "test-durable", handle, redeliver_after_s=0.2)
    consumer.start()
    await eventually(lambda: seen.count(2.0) == 2, 10)
    await asyncio.sleep(0.5)
    assert sorted(seen) == [1.0, 2.0, 2.0]
    records = [record.seq async for record in bus.replay(name, [topic.pattern], 1)]
    assert records == [1, 2, 3]
    await consumer.stop()
    await bus.close()


async def test_on_connect_runs_work_registered_after_the_connection(suite: Suite) -> None:
    bus = await connected_bus(suite.env.values["NATS_URL"], "late-registration")
    ran = asyncio.Event()

    async def later() -> None:
        ran.set()

    bus.on_connect(later)
    await asyncio.wait_for(ran.wait(), 2)
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


def test_every_market_topic_fills_its_subject_from_a_pair() -> None:
    assert MARKET_TICKER.subject(pair="btcusdt") == "market.ticker.btcusdt"
    assert MARKET_TICKER.pattern == "market.ticker.*" and MARKET_TICKER.matches("market.ticker.ethusdt")
    assert TickerEvent is MARKET_TICKER.model
