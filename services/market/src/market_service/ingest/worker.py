"""The ingest worker: while this replica holds the lease, stream Binance into the sink, polling REST
whenever the socket is down.

Standbys run only the lease loop and the (idle) sink. As leader the worker checks the configured pairs
against the exchange's symbol list (a delisted or unserved pair would otherwise break the REST calls),
then runs two tasks: the stream consumer, and a fallback that starts polling once the socket has been
down for `grace_s` and stops as soon as it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from suite_shared.messages.market import MarketEvent
from suite_shared.metrics import INGEST_REST_FALLBACK
from suite_shared.service import ServiceContext
from suite_shared.symbols import Pair

from ..chains import MarketChains
from ..directory import known_pairs
from .binance_stream import BinanceStream, LinkState
from .lease import LeaderLease
from .rest_poller import RestPoller
from .sink import EventSink

log = logging.getLogger(__name__)

FEED = "binance"
WorkerState = Literal["starting", "standby", "leader"]
SocketState = Literal["connected", "polling", "connecting"]


class IngestWorker:
    """The sink plus the lease loop; `_lead` is the leader's work, cancelled the moment the lease is lost."""

    def __init__(self, ctx: ServiceContext, chains: MarketChains, pairs: Sequence[Pair], grace_s: float = 2.0) -> None:
        self.ctx = ctx
        self.chains = chains
        self.configured = list(pairs)
        self.grace_s = grace_s
        self.sink = EventSink(ctx.bus, ctx.cache_redis)  # latest values: fed again by the live stream
        self.lease = LeaderLease(ctx.bus, key=FEED, replicas=ctx.settings.nats_replicas)
        self.pairs: list[Pair] = []
        self.link: LinkState | None = None
        self.polling = False
        self.leading_since: float | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def state(self) -> WorkerState:
        return "starting" if not self._tasks else self.lease.state

    @property
    def socket(self) -> SocketState | None:
        if self.link is None:
            return None
        return "connected" if self.link.connected else "polling" if self.polling else "connecting"

    def start(self) -> None:
        """Begin contending for the lease (call once NATS is connected)."""
        self._tasks = [
            asyncio.create_task(self.sink.run(), name="ingest-sink"),
            asyncio.create_task(self.lease.hold(self._lead), name="ingest-lease"),
        ]

    async def stop(self) -> None:
        """Stop ingesting and give up the lease, so a standby takes over at once."""
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.lease.release()

    async def _lead(self) -> None:
        self.leading_since = time.monotonic()
        try:
            self.pairs = await self._tradable_pairs()
            stream = BinanceStream(self.ctx.settings.binance_ws_url, self.pairs)
            poller = RestPoller(self.ctx.upstreams, self.pairs, self.ctx.settings.budgets.binance_weight_per_min)
            self.link = stream.link
            async with asyncio.TaskGroup() as group:
                group.create_task(self._consume(stream))
                group.create_task(
                    poll_while_down(stream.link, poller, self.sink.offer, self._set_polling, self.grace_s)
                )
        finally:
            self.link = None
            self.leading_since = None
            self._set_polling(False)

    async def _tradable_pairs(self) -> list[Pair]:
        known = await known_pairs(self.ctx.cache, self.chains.exchange_info)
        if known is None:
            log.warning("no symbol list from the exchange; ingesting every configured pair")
            return self.configured
        tradable = [pair for pair in self.configured if str(pair) in known]
        skipped = [str(pair) for pair in self.configured if str(pair) not in known]
        if skipped:
            log.warning("not ingesting pairs the exchange does not list: %s", ", ".join(skipped))
        if not tradable:
            raise RuntimeError("none of the configured INGEST_SYMBOLS is listed by the exchange")
        return tradable

    async def _consume(self, stream: BinanceStream) -> None:
        async for event in stream.events():
            self.sink.offer(event)

    def _set_polling(self, active: bool) -> None:
        if active != self.polling:
            log.warning("REST polling %s", "started: the socket is down" if active else "stopped")
        self.polling = active
        INGEST_REST_FALLBACK.labels(FEED).set(1 if active else 0)


async def poll_while_down(
    link: LinkState,
    poller: RestPoller,
    deliver: Callable[[MarketEvent], None],
    set_polling: Callable[[bool], None],
    grace_s: float,
) -> None:
    """Poll REST while the socket is down, after a grace period so a quick reconnect costs no weight."""
    while True:
        await link.wait_down()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(link.wait_up(), grace_s)
        if link.connected:
            continue
        set_polling(True)
        try:
            while not link.connected:
                for event in await poller.poll_once():
                    deliver(event)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(link.wait_up(), poller.interval_s)
        finally:
            set_polling(False)
