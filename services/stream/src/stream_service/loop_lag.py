"""How late the replica's event loop runs: every frame of every client waits behind whatever holds the loop
(a garbage-collector pause, a burst of fan-out), so this is the stall all clients share. A sleeper wakes every
`EVERY_S` and records how much later than asked it woke (`stream_event_loop_lag_seconds`)."""

from __future__ import annotations

import asyncio

from .metrics import LOOP_LAG

EVERY_S = 0.1  # ten wake-ups a second: cheap, and fine enough to place a stall within a second


async def watch(every_s: float = EVERY_S) -> None:
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every_s
        await asyncio.sleep(every_s)
        LOOP_LAG.observe(max(0.0, loop.time() - due))
