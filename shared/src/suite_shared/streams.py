"""The JetStream streams of the suite, defined once so every service that needs one declares it identically.

A stream captures the plain NATS publishes on its subjects (publishers need not know it exists) and keeps
them for a while, so a consumer that was away can catch up:

- `MARKET`: the ingest's market events, kept for `STREAM_RESUME_WINDOW_S`, so the stream service can give a
  reconnecting WebSocket client what it missed, whichever replica it lands on.
- `NEWS`: scored and unscored articles; the sentiment service's durable consumer catches up after a restart.
- `SIGNALS`: ai signals, for WebSocket resume like `MARKET`.

`ensure_stream` creates a stream or brings an existing one to this definition; both are idempotent, so
every replica of every service can call it on each connect.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from . import subjects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: float
    max_bytes: int

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            num_replicas=1,
        )


def market_stream(resume_window_s: float) -> StreamSpec:
    return StreamSpec(
        "MARKET",
        (subjects.MARKET_TICKER_ALL, subjects.MARKET_TRADE_ALL, subjects.MARKET_BOOK_ALL, subjects.MARKET_CANDLE_ALL),
        resume_window_s,
        512 * 1024 * 1024,
    )


def signals_stream(resume_window_s: float) -> StreamSpec:
    return StreamSpec("SIGNALS", (subjects.AI_SIGNAL,), max(resume_window_s, 3600.0), 64 * 1024 * 1024)


def news_stream(retention_s: float) -> StreamSpec:
    return StreamSpec(
        subjects.NEWS_STREAM, (subjects.NEWS_ARTICLE, subjects.NEWS_SCORED), retention_s, 1024 * 1024 * 1024
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec) -> StreamInfo:
    """Create the stream, or update it to `spec` when it exists with other limits; returns its info."""
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        try:
            info = await js.add_stream(spec.config())
            log.info("created JetStream stream %s (%s)", spec.name, ", ".join(spec.subjects))
            return info
        except BadRequestError:  # another replica created it between our two calls
            info = await js.stream_info(spec.name)
    current = info.config
    if (
        sorted(current.subjects or []) != sorted(spec.subjects)
        or current.max_age != spec.max_age_s
        or current.max_bytes != spec.max_bytes
    ):
        info = await js.update_stream(spec.config())
        log.info("updated JetStream stream %s to the suite's definition", spec.name)
    return info
