"""Time for the sandbox: recordings are shifted so that they end at the current hour.

A recorded series that ended on, say, 2021-06-10 00:00 is replayed as if it ended at the start of the current
UTC hour; every recorded timestamp moves by the same offset, so intervals, gaps and ordering stay real.
"""

from __future__ import annotations

import time

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


def current_hour_ms() -> int:
    now = now_ms()
    return now - now % HOUR_MS


def current_day_ms() -> int:
    now = now_ms()
    return now - now % DAY_MS


def shift_to_now(recording_end_ms: int, step_ms: int = HOUR_MS) -> int:
    """Offset to add to every recorded timestamp so that the last one lands on the current step."""
    now = now_ms()
    return (now - now % step_ms) - recording_end_ms
