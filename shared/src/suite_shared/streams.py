"""The JetStream streams of the suite, defined once so every service that needs one declares it identically.

A stream captures the publishes on its topics' subjects (see topics.py: each topic names its stream) and
keeps them for a while, so a consumer that was away can catch up:

- `MARKET`: the ingest's market events, kept for `STREAM_RESUME_WINDOW_S`, so the stream service can give a
  reconnecting WebSocket client what it missed, whichever replica it lands on.
- `NEWS`: every stored story and every score; the sentiment service's durable consumer catches up after a
  restart.
- `SIGNALS`: ai signals, for WebSocket resume like `MARKET`.

`Bus.ensure_stream` creates a stream or brings an existing one to its definition; both are idempotent, so
every replica of every service can declare the streams it uses on each connect. Sizes and replicas come from
the settings (`STREAM_MAX_MIB_*`, `NATS_REPLICAS`), so each deployment fits them to its NATS storage: the
three streams together must fit the JetStream volume (k8s overlays keep them under 75 % of the PVC).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from .settings import Settings
from .topics import MARKET_STREAM, NEWS_STREAM, SIGNALS_STREAM, TOPICS

MIB = 1024 * 1024


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: float
    max_bytes: int
    replicas: int = 1

    def config(self) -> StreamConfig:
        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
            num_replicas=self.replicas,
        )


def subjects_of(stream: str) -> tuple[str, ...]:
    """Every subject a stream keeps: the patterns of the topics that name it."""
    return tuple(topic.pattern for topic in TOPICS if topic.stream == stream)


def market_stream(settings: Settings) -> StreamSpec:
    return StreamSpec(
        MARKET_STREAM,
        subjects_of(MARKET_STREAM),
        settings.stream_resume_window_s,
        settings.stream_max_mib_market * MIB,
        settings.nats_replicas,
    )


def signals_stream(settings: Settings) -> StreamSpec:
    return StreamSpec(
        SIGNALS_STREAM,
        subjects_of(SIGNALS_STREAM),
        max(settings.stream_resume_window_s, 3600.0),
        settings.stream_max_mib_signals * MIB,
        settings.nats_replicas,
    )


def news_stream(settings: Settings) -> StreamSpec:
    """Kept as long as the news store keeps stories: the record the store and sentiment are rebuilt from."""
    return StreamSpec(
        NEWS_STREAM,
        subjects_of(NEWS_STREAM),
        settings.news_retention_s,
        settings.stream_max_mib_news * MIB,
        settings.nats_replicas,
    )


def suite_streams(settings: Settings) -> list[StreamSpec]:
    return [market_stream(settings), signals_stream(settings), news_stream(settings)]
