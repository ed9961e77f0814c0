"""What the stream service's connections share, built at start-up (app.py) and given to endpoints typed."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends

from suite_shared.deps import state_of
from suite_shared.service import ServiceContext

from .hub import Hub


class Admission:
    """Concurrent connections per client and per replica, each capped (the gateway limits how fast a client
    connects; this limits how many it holds)."""

    PER_CLIENT = (4429, "too many connections from this client", "client_cap")
    REPLICA_FULL = (1013, "this replica is full: try again later", "replica_cap")

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client, self.total = per_client, total
        self.open: Counter[str] = Counter()

    def admit(self, client: str) -> tuple[int, str, str] | None:
        """Count the connection in, or say why not (close code, reason, metric label)."""
        if self.open.total() >= self.total:
            return self.REPLICA_FULL
        if self.open[client] >= self.per_client:
            return self.PER_CLIENT
        self.open[client] += 1
        return None

    def leave(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]


# Sessions written to Redis at once. When thousands of clients leave together (a gateway restart, a network
# blip) each saves its session; unbounded, those saves asked redis-py's pool for more than its 100
# connections, each refusal ("Too many connections") marked the state Redis down for the replica's other
# calls too, and those sessions were lost. Beyond this many, saves wait their turn.
SAVES_AT_ONCE = 32


@dataclass
class StreamService:
    ctx: ServiceContext
    hub: Hub
    streamed: frozenset[str]  # the pairs market channels carry (INGEST_SYMBOLS, canonical spelling)
    admission: Admission
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    saves: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SAVES_AT_ONCE))


Stream = Annotated[StreamService, Depends(state_of(StreamService))]
