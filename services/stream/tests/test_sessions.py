"""Ending a connection's tasks leaves nothing for the cyclic garbage collector (gcpolicy.py keeps cycles among
frozen objects for half an hour, so a closed connection must be freed by reference counting alone)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from stream_service.sessions import _end


class Outbox:
    """Stands for what a connection's writer holds (its outbox and history)."""


async def _failed_writer(outbox: Outbox) -> None:
    await asyncio.sleep(0)
    raise OSError(f"client gone ({outbox!r})")  # what a send to a vanished client raises


async def _ended() -> weakref.ref[Outbox]:
    outbox = Outbox()
    tasks = [asyncio.create_task(_failed_writer(outbox)), asyncio.create_task(asyncio.sleep(60))]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    await _end(tasks)
    assert tasks[0].done() and tasks[1].cancelled()
    return weakref.ref(outbox)


async def test_ending_a_connections_tasks_leaves_no_reference_cycle() -> None:
    gc.collect()
    gc.disable()  # only reference counting frees anything now
    try:
        kept = await _ended()
        await asyncio.sleep(0)
        assert kept() is None, "the failed writer's exception and its frames outlived the connection"
    finally:
        gc.enable()
