"""The per-connection outbox: coalescing, bounded queues, slow-consumer disconnect, stream order, history."""

from __future__ import annotations

import asyncio

import pytest

from stream_service.channels import contract_head
from stream_service.connection import MAX_OVERFLOWS, Closed, Connection, Cursor
from stream_service.metrics import DROPS


class Socket:
    """A client socket: records frames; `stuck` makes every send hang (a client that stopped reading)."""

    def __init__(self, stuck: bool = False) -> None:
        self.frames: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.stuck = stuck

    async def send(self, frame: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.frames.append(frame)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


async def test_ticker_is_coalesced_to_the_newest_and_trades_keep_their_order() -> None:
    socket = Socket()
    connection = Connection(socket.send, socket.close)
    for price in (1, 2, 3):
        connection.offer("ticker", "BTC/USDT", contract_head("ticker", f'{{"price":{price}}}'), Cursor("MARKET", price))
    for trade in (4, 5):
        connection.offer("trades", "BTC/USDT", contract_head("trades", f'{{"id":{trade}}}'), Cursor("MARKET", trade))
    writer = asyncio.create_task(connection.run_writer())
    await asyncio.sleep(0.01)
    writer.cancel()
    assert socket.frames == [
        '{"channel":"ticker","data":{"price":3},"seq":1}',
        '{"channel":"trades","data":{"id":4},"seq":2}',
        '{"channel":"trades","data":{"id":5},"seq":3}',
    ]
    assert connection.history() == [(1, Cursor("MARKET", 3)), (2, Cursor("MARKET", 4)), (3, Cursor("MARKET", 5))]


async def test_a_client_that_stops_reading_loses_the_oldest_then_is_disconnected() -> None:
    socket = Socket(stuck=True)
    connection = Connection(socket.send, socket.close, max_queued=4)
    writer = asyncio.create_task(connection.run_writer())
    connection.offer("trades", "BTC/USDT", contract_head("trades", '{"id":0}'))
    await asyncio.sleep(0.01)  # the writer is now stuck sending frame 0
    before = DROPS.labels("trades", "queue_full")._value.get()
    for index in range(1, 5 + 10):
        connection.offer("trades", "BTC/USDT", contract_head("trades", f'{{"id":{index}}}'))
    assert DROPS.labels("trades", "queue_full")._value.get() - before == 10
    assert not connection.closed
    for index in range(MAX_OVERFLOWS):
        connection.offer("trades", "BTC/USDT", contract_head("trades", f'{{"id":{index}}}'))
    assert connection.closed
    writer.cancel()  # a real stuck send ends with the batch timeout; here the writer is cancelled
    with pytest.raises(asyncio.CancelledError):
        await writer


async def test_a_server_side_close_sends_the_close_frame_with_its_reason() -> None:
    socket = Socket()
    connection = Connection(socket.send, socket.close)
    writer = asyncio.create_task(connection.run_writer())
    connection.end((1000, "idle: no subscription and no message", "idle"))
    with pytest.raises(Closed) as ended:
        await writer
    assert ended.value.reason == "idle" and socket.closed == (1000, "idle: no subscription and no message")
