"""Keeping Python's cyclic garbage collector from pausing a service.

Almost every object a service holds is long-lived: everything loaded at start-up, cache records, kept
answers, and in the stream service each connection's protocol, parser, task and outbox. A full
(generation 2) collection walks all of them. Measured: 1.3–1.9 s every few seconds with 10,000 WebSocket
connections (stalling every client at once), and about 100 ms every 3 s in the market service under REST
load (the p99 of every request in flight then). So, every `FREEZE_EVERY_S` (`GC_FREEZE_EVERY_S`), the
objects alive then are moved out of the collector's reach (`gc.freeze()`); the collector keeps scanning what
is new. Reference counting, which frees almost everything, is unaffected. Cyclic garbage among frozen
objects is reclaimed only by one full collection every `FULL_EVERY_S` (`gc.unfreeze()` first): one longer
pause per half hour instead of one every few seconds. That makes any cycle in a long-lived object's
teardown a half-hour leak, so objects that come and go all day must not form cycles: a closed WebSocket left
three (~5 KB a connection), broken in runner.py (uvicorn's protocols) and the stream's sessions._end.

The youngest generation is collected after `GC_YOUNG_THRESHOLD` (20,000) net new container objects instead
of Python's 700: a cached answer allocates a few dozen, so the default ran a collection every few requests
(1,300 in 40 s at 8,000 requests/s, 2 % of the process's time); almost none of them live long enough for a
bigger young generation to cost more per collection. Pauses go to every installed observer
(`gc_pause_seconds` for each service).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

FREEZE_EVERY_S = 10.0
FULL_EVERY_S = 1800.0
PauseObserver = Callable[[int, float], None]  # (generation, seconds)
_observers: list[PauseObserver] = []
_started: dict[str, float] = {}


def _time(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started["at"] = time.perf_counter()
    elif "at" in _started:
        paused = time.perf_counter() - _started.pop("at")
        for observe in _observers:
            observe(info["generation"], paused)


def install(observe: PauseObserver, young_threshold: int | None = None, freeze: bool = True) -> None:
    """Report pauses to `observe` too, set the young generation's threshold, and freeze what is alive now
    (everything loaded at start-up) unless `freeze` is off."""
    if _time not in gc.callbacks:
        gc.callbacks.append(_time)
    if observe not in _observers:
        _observers.append(observe)
    if young_threshold is not None:
        gc.set_threshold(young_threshold, *gc.get_threshold()[1:])
    if freeze:
        gc.freeze()


async def govern(freeze_every_s: float = FREEZE_EVERY_S, full_every_s: float = FULL_EVERY_S) -> None:
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_every_s)
        if time.monotonic() - last_full >= full_every_s:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        gc.freeze()
