"""Keeping Python's cyclic garbage collector from pausing the fan-out.

With 10,000 open connections a replica holds millions of GC-tracked objects, almost all of them long-lived
(each connection's protocol, parser, task and outbox). A full (generation 2) collection walks all of them:
measured at 1.3–1.9 s every few seconds under the fan-out benchmark, stalling every client at once. So,
every `FREEZE_EVERY_S`, the objects alive then are moved out of the collector's reach (`gc.freeze()`); the
collector keeps scanning what is new. Cyclic garbage among frozen objects (closed connections) is reclaimed
by one full collection every `FULL_EVERY_S` (`gc.unfreeze()` first): one longer pause per half hour instead
of one every few seconds. Reference counting, which frees almost everything, is unaffected. Pauses are
exported as `stream_gc_pause_seconds`.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from .metrics import GC_PAUSE

FREEZE_EVERY_S = 10.0
FULL_EVERY_S = 1800.0
_started: dict[str, float] = {}


def _observe(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started["at"] = time.perf_counter()
    elif "at" in _started:
        GC_PAUSE.labels(str(info["generation"])).observe(time.perf_counter() - _started.pop("at"))


def install() -> None:
    if _observe not in gc.callbacks:
        gc.callbacks.append(_observe)
    gc.freeze()  # everything loaded at start-up


async def govern(freeze_every_s: float = FREEZE_EVERY_S, full_every_s: float = FULL_EVERY_S) -> None:
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_every_s)
        if time.monotonic() - last_full >= full_every_s:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        gc.freeze()
