"""The ingest worker: while this replica holds the lease, stream Binance into the sink, polling REST
whenever the socket is down.

Standbys run only the lease loop and the (idle) sink. As leader the worker checks the configured pairs
against the exchange's symbol list (a delisted or unserved pair would otherwise break the REST calls),
then runs two tasks: the stream consumer, and a fallback that starts polling once the socket has been
down for `grace_s` and stops as soon as it is back. Meanwhile it backfills the trades missed while the
feed had no leader (backfill.py), holding the live trades back until those are offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Literal

from suite_shared.messages.market import MarketEvent, TradeEvent
from suite_shared.metrics import INGEST_REST_FALLBACK
from suite_shared.service import ServiceContext
from suite_shared.streams import market_stream
from suite_shared.symbols import Pair

from ..chains import MarketChains
from ..directory import known_pairs
from ..providers.binance import BinanceTrades
from .backfill import backfill, first_live_ids, in_order
from .binance_stream import BinanceStream, LinkState
from .lease import LeaderLease
from .rest_poller import RestPoller
from .sink import EventSink

log = logging.getLogger(__name__)

FEED = "binance"
SOCKET_WAIT_S = 10.0  # the backfill waits this long at most for the socket to connect
BACKFILL_TIMEOUT_S = 15.0  # and its REST calls this long: live trades are held until then
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
        self._held: list[TradeEvent] | None = None  # live trades held while the backfill runs
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
            # The sink publishes with JetStream's acknowledgement: the stream must exist (raising here ends
            # this turn as leader; the lease is contended for again shortly).
            await self.ctx.bus.ensure_stream(market_stream(self.ctx.settings))
            self.pairs = await self._tradable_pairs()
            stream = BinanceStream(self.ctx.settings.binance_ws_url, self.pairs)
            poller = RestPoller(self.ctx.upstreams, self.pairs, self.ctx.settings.budgets.binance_weight_per_min)
            self.link = stream.link
            self._held = []  # live trades wait here while the trades missed before us are fetched
            async with asyncio.TaskGroup() as group:
                group.create_task(self._consume(stream))
                group.create_task(poll_while_down(stream.link, poller, self._offer, self._set_polling, self.grace_s))
                await self._backfill(stream.link)
        finally:
            self.link = None
            self.leading_since = None
            self._held = None
            self._set_polling(False)

    async def _backfill(self, link: LinkState) -> None:
        """Offer the trades missed while the feed had no leader, then the live trades held meanwhile that
        the backfill does not already have, so the sink gets every pair's trades in order (backfill.py)."""
        with contextlib.suppress(TimeoutError):  # without the socket, backfill anyway: those trades still count
            await asyncio.wait_for(link.wait_up(), SOCKET_WAIT_S)
        fetcher = BinanceTrades(self.ctx.upstreams)
        try:
            missed = await asyncio.wait_for(
                backfill(self.ctx.bus, fetcher, self.pairs, first_live_ids(self._held or [])), BACKFILL_TIMEOUT_S
            )
        except Exception as exc:  # a slow or failing call must not hold the live trades back for good
            log.warning("no trade backfill (%s: %s)", type(exc).__name__, exc)
            missed = []
        held, self._held = self._held or [], None
        for event in in_order(missed, held):
            self.sink.offer(event)

    def _offer(self, event: MarketEvent) -> None:
        """To the sink; a trade waits while the backfill runs (other events are latest values: no order)."""
        if self._held is not None and isinstance(event, TradeEvent):
            self._held.append(event)
        else:
            self.sink.offer(event)

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
            self._offer(event)

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
