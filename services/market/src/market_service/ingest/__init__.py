"""Live ingest: exchange streams normalised and published to Redis (latest values) and NATS (events).

Also the `market.candles.get` responder, which every replica runs. Both start once NATS is connected;
the ingest worker only ingests on the replica holding the lease (see lease.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from fastapi import FastAPI

from suite_shared.errors import InvalidSymbol
from suite_shared.health import ComponentHealth, HealthCheck
from suite_shared.service import ServiceContext
from suite_shared.symbols import Pair, parse_pair

from .candle_requests import CandleResponder
from .worker import IngestWorker

log = logging.getLogger(__name__)

SILENT_AFTER_S = 60.0  # a leader without events for this long reports the ingest as down


@dataclass
class Ingest:
    responder: CandleResponder
    worker: IngestWorker | None  # None when INGEST_ENABLED is false

    async def on_connect(self) -> None:
        await self.responder.start()
        if self.worker is not None:
            self.worker.start()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        await self.responder.stop()


def parse_symbols(text: str) -> list[Pair]:
    """INGEST_SYMBOLS → distinct pairs in order; malformed entries are logged and skipped."""
    pairs: list[Pair] = []
    for raw in filter(None, (part.strip() for part in text.split(","))):
        try:
            pair = parse_pair(raw)
        except InvalidSymbol:
            log.warning("ignoring malformed INGEST_SYMBOLS entry %r", raw)
            continue
        if pair not in pairs:
            pairs.append(pair)
    return pairs


async def start(ctx: ServiceContext, app: FastAPI) -> None:
    """Start the ingest worker and NATS responders in the background (called from the app's setup)."""
    settings = ctx.settings
    pairs = parse_symbols(settings.ingest_symbols)
    worker = IngestWorker(ctx, app.state.chains, pairs) if settings.ingest_enabled and pairs else None
    ingest = Ingest(CandleResponder(ctx, app.state.chains), worker)
    app.state.ingest = ingest
    ctx.health_checks["ingest"] = ingest_health(worker)
    if ctx.bus.connected:  # the first connection came first; its callbacks have run or are running
        await ingest.on_connect()
    else:
        ctx.bus.on_connect(ingest.on_connect)


async def stop(ctx: ServiceContext, app: FastAPI) -> None:
    """Stop the worker, giving up its leader lease (called from the app's teardown)."""
    ingest: Ingest | None = getattr(app.state, "ingest", None)
    if ingest is not None:
        await ingest.stop()


def ingest_health(worker: IngestWorker | None) -> HealthCheck:
    """Not critical: the REST API answers without live ingest. Down only for a leader whose feed is silent."""

    async def check() -> ComponentHealth:
        if worker is None:
            return ComponentHealth(status="up", detail={"state": "disabled"})
        detail: dict[str, object] = {"state": worker.state, "owner": worker.lease.owner}
        if worker.state != "leader":
            return ComponentHealth(status="up", detail=detail)
        now = time.monotonic()
        last = worker.sink.last_event_at
        age_s = None if last is None or (worker.leading_since and last < worker.leading_since) else now - last
        detail.update(
            socket=worker.socket,
            pairs=len(worker.pairs),
            last_event_age_ms=None if age_s is None else int(age_s * 1000),
        )
        silent_s = age_s if age_s is not None else now - (worker.leading_since or now)
        return ComponentHealth(status="down" if silent_s > SILENT_AFTER_S else "up", detail=detail)

    return check
