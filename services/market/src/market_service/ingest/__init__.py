"""Live ingest: exchange streams normalised and published to Redis (latest values) and NATS (events).

The worker starts once NATS is connected and only ingests on the replica holding the lease (see lease.py).
"""

from __future__ import annotations

import logging
import time

from suite_shared.health import ComponentHealth, HealthCheck
from suite_shared.service import ServiceContext

from ..chains import MarketChains
from .worker import IngestWorker

log = logging.getLogger(__name__)

SILENT_AFTER_S = 60.0  # a leader without events for this long reports the ingest as down


def start(ctx: ServiceContext, chains: MarketChains) -> IngestWorker | None:
    """The ingest worker, started once NATS is connected (None when INGEST_ENABLED is false); its health is
    registered either way (called from the app's setup; `worker.stop()` gives up its lease)."""
    settings = ctx.settings
    pairs = settings.ingest_symbols
    worker = IngestWorker(ctx, chains, pairs) if settings.ingest_enabled and pairs else None
    ctx.health_checks["ingest"] = ingest_health(worker)
    if worker is not None:

        async def begin() -> None:
            worker.start()

        ctx.bus.on_connect(begin)
    return worker


def ingest_health(worker: IngestWorker | None) -> HealthCheck:
    """Not critical: the REST API answers without live ingest. Down only for a leader whose feed is silent."""

    async def check() -> ComponentHealth:
        if worker is None:
            return ComponentHealth(status="up", detail={"state": "disabled"})
        detail: dict[str, object] = {
            "state": worker.state,
            "owner": worker.lease.owner,
            "unacknowledged": worker.sink.waiting,  # events the MARKET stream has not confirmed yet
            "republished": worker.sink.retried,
        }
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
