"""Trades a new ingest leader missed: while the feed had no leader (a crashed leader's lease running out) the
exchange's trades went nowhere, and the socket only sends trades from the moment it connects.

On winning the lease, the leader first waits for its socket (the socket sends trades from its connection on,
so asking REST after that makes the two overlap instead of leaving a hole between them). Then it reads the
newest trade of each pair the MARKET stream holds and asks Binance's recent trades (REST, the same trade ids
as the socket's `trade` stream) for the ones after it, oldest first. No call is made for a pair whose first
live trade already follows the stored one. The worker offers the missed trades to the sink before the live
trades it held meanwhile, less those the backfill already has, so every pair's trades reach the stream in
order and once (a repeat would also be dropped by the stream as a repeat of its Nats-Msg-Id). At most
`BACKFILL_LIMIT` trades per pair (Binance's maximum): a longer gap is filled from its end and logged with how
many are missing. Nothing is backfilled for a pair the stream holds no trade of (first start, or older than
the stream keeps).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from suite_shared.bus import Bus
from suite_shared.envelope import now_ms
from suite_shared.messages.market import TradeEvent
from suite_shared.symbols import Pair
from suite_shared.topics import MARKET_STREAM, MARKET_TRADE
from suite_shared.upstream import UpstreamFailure

from ..models import PairQuery, Trade
from ..providers.binance import BinanceTrades
from .binance_stream import SOURCE
from .sink import message_id

log = logging.getLogger(__name__)

BACKFILL_LIMIT = 1000  # Binance's most recent trades per call (weight 25)


async def last_stored_trade(bus: Bus, pair: Pair) -> int | None:
    """The exchange id of the pair's newest trade in the MARKET stream (None: none held, or not numeric)."""
    raw = await bus.last_message(MARKET_STREAM, MARKET_TRADE.subject(pair=pair.subject_token))
    if raw is None:
        return None
    trade_id = TradeEvent.model_validate_json(raw).id
    return int(trade_id) if trade_id.isdigit() else None


def missed_trades(pair: Pair, recent: Sequence[Trade], after_id: int) -> list[TradeEvent]:
    """The recent trades newer than `after_id`, oldest first, as the socket would have published them."""
    received_at = now_ms()
    newer = sorted(
        (trade for trade in recent if trade.id.isdigit() and int(trade.id) > after_id), key=lambda t: int(t.id)
    )
    return [
        TradeEvent(
            symbol=str(pair),
            id=trade.id,
            price=trade.price,
            amount=trade.amount,
            side=trade.side,
            timestamp=trade.timestamp,
            received_at=received_at,
            source=SOURCE,  # the same exchange trade as the socket's: the same Nats-Msg-Id
        )
        for trade in newer
    ]


async def backfill(
    bus: Bus, fetcher: BinanceTrades, pairs: Sequence[Pair], first_live: Mapping[str, int] | None = None
) -> list[TradeEvent]:
    """Every pair's trades after the newest one the stream holds, oldest first per pair. `first_live`: the
    first live trade id per symbol received so far; a pair whose live trades follow on needs no call."""
    events: list[TradeEvent] = []
    for pair in pairs:
        after_id = await last_stored_trade(bus, pair)
        if after_id is None or (first_live or {}).get(str(pair), after_id + 2) <= after_id + 1:
            continue
        try:
            recent = await fetcher.fetch(PairQuery(base=pair.base, quote=pair.quote, limit=BACKFILL_LIMIT))
        except UpstreamFailure as exc:
            log.warning("cannot backfill %s trades after %d: %s", pair, after_id, exc.reason)
            continue
        missed = missed_trades(pair, recent, after_id)
        if missed and int(missed[0].id) > after_id + 1:
            log.warning(
                "%s: %d trades after %d are older than Binance's recent trades",
                pair,
                int(missed[0].id) - after_id - 1,
                after_id,
            )
        if missed:
            log.info("backfilled %d %s trades missed since %d", len(missed), pair, after_id)
        events.extend(missed)
    return events


def first_live_ids(held: Sequence[TradeEvent]) -> dict[str, int]:
    """The first live trade id per symbol among the held trades."""
    first: dict[str, int] = {}
    for trade in held:
        if trade.id.isdigit():
            first.setdefault(trade.symbol, int(trade.id))
    return first


def in_order(missed: Sequence[TradeEvent], held: Sequence[TradeEvent]) -> list[TradeEvent]:
    """What to offer the sink: the missed trades, then the held live ones the backfill does not have."""
    have = {message_id(trade) for trade in missed}
    return [*missed, *(trade for trade in held if message_id(trade) not in have)]
