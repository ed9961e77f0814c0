"""One leader per feed across market replicas, elected with a NATS JetStream KV lease.

`create()` on a key succeeds for exactly one contender; the winner refreshes it with a compare-and-set
`update(last=revision)` every few seconds, and the bucket's TTL (its stream's max age) removes a lease
nobody refreshes, so a standby's next `create()` wins within about `ttl_s + retry_s` of a leader dying.
The leader gives up at its first failed refresh (NATS gone, or the revision moved), well before its
lease can expire and another replica take over, so two replicas never ingest at once for long. A
graceful stop deletes the lease (only our own revision), letting a standby take over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from nats.errors import Error as NatsError
from nats.js.errors import KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from suite_shared.bus import Bus, BusUnavailable
from suite_shared.metrics import INGEST_LEADER

log = logging.getLogger(__name__)

BUCKET = "market_leases"
LeaseState = Literal["standby", "leader"]


@dataclass(frozen=True)
class LeaseTimings:
    ttl_s: float = 10.0  # the bucket's max age: how long an unrefreshed lease survives
    refresh_s: float = 2.5
    retry_s: float = 2.0  # how often a standby tries to win
    call_timeout_s: float = 2.0  # refresh_s + call_timeout_s stays well below ttl_s


def owner_id() -> str:
    """Who holds a lease: readable in the bucket, unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class LeaderLease:
    """Runs a leader's work only while this process holds the lease on `key`."""

    def __init__(
        self,
        bus: Bus,
        key: str,
        owner: str | None = None,
        bucket: str = BUCKET,
        timings: LeaseTimings | None = None,
        replicas: int = 1,
    ) -> None:
        self.bus = bus
        self.replicas = replicas  # of the bucket: 3 on a 3-node cluster, so the lease outlives a node
        self.key = key
        self.owner = owner or owner_id()
        self.bucket = bucket
        self.timings = timings or LeaseTimings()
        self.state: LeaseState = "standby"
        self.revision: int | None = None
        self._kv: KeyValue | None = None
        INGEST_LEADER.labels(key).set(0)

    async def hold(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Forever: win the lease, run `lead()` while it is held, and cancel it the moment it is not."""
        while True:
            if await self._acquire():
                await self._lead_while_held(lead)
            await asyncio.sleep(self.timings.retry_s)

    async def release(self) -> None:
        """Delete our lease, if we hold one, so a standby takes over without waiting for the TTL."""
        revision, self.revision = self.revision, None
        if revision is None or self._kv is None:
            return
        try:
            await asyncio.wait_for(self._kv.delete(self.key, last=revision), self.timings.call_timeout_s)
            log.info("released the %s lease", self.key)
        except (NatsError, BusUnavailable, TimeoutError) as exc:
            log.info("could not release the %s lease (%s); it expires by itself", self.key, exc)

    async def _acquire(self) -> bool:
        try:
            kv = await self._bucket()
            self.revision = await asyncio.wait_for(
                kv.create(self.key, self.owner.encode()), self.timings.call_timeout_s
            )
        except KeyWrongLastSequenceError:
            return False  # held by another replica
        except (NatsError, BusUnavailable, TimeoutError, OSError) as exc:
            log.warning("cannot contend for the %s lease (%s)", self.key, exc or type(exc).__name__)
            return False
        log.info("won the %s lease as %s", self.key, self.owner)
        return True

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self.bus.key_value(self.bucket, self.timings.ttl_s, self.replicas)
        return self._kv

    async def _lead_while_held(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._set_state("leader")
        leading = asyncio.create_task(lead(), name=f"lead-{self.key}")
        try:
            await self._refresh_until_lost(leading)
        finally:
            leading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leading
            self._set_state("standby")

    async def _refresh_until_lost(self, leading: asyncio.Task[None]) -> None:
        while True:
            done, _ = await asyncio.wait({leading}, timeout=self.timings.refresh_s)
            if done:
                log.error("the %s leader's work ended (%r); giving up the lease", self.key, leading.exception())
                await self.release()
                return
            if not await self._refresh():
                return

    async def _refresh(self) -> bool:
        assert self._kv is not None and self.revision is not None
        try:
            self.revision = await asyncio.wait_for(
                self._kv.update(self.key, self.owner.encode(), last=self.revision), self.timings.call_timeout_s
            )
        except Exception as exc:  # any doubt about the lease means we stop leading now
            log.warning("lost the %s lease (%s: %s); stopping", self.key, type(exc).__name__, exc)
            self.revision = None
            return False
        return True

    def _set_state(self, state: LeaseState) -> None:
        self.state = state
        INGEST_LEADER.labels(self.key).set(1 if state == "leader" else 0)
