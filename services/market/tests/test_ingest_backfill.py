"""Trade backfill for a new ingest leader: the trades after the newest one the MARKET stream holds, oldest
first, as the socket would have published them; nothing without a stored trade or when the REST call fails.
NATS and Binance are replaced by small stand-ins (no network)."""

from __future__ import annotations

from market_service.ingest.backfill import backfill, first_live_ids, in_order, missed_trades
from market_service.ingest.sink import message_id
from market_service.models import PairQuery, Trade
from suite_shared.messages.market import TradeEvent
from suite_shared.symbols import parse_pair
from suite_shared.upstream import UpstreamFailure

BTC, ETH = parse_pair("BTC/USDT"), parse_pair("ETH/USDT")


def trade(trade_id: int) -> Trade:
    return Trade(id=str(trade_id), timestamp=1_000 * trade_id, price=100.0 + trade_id, amount=0.5, side="buy")


class Stream:
    """Stands in for the Bus: the newest stored trade per subject."""

    def __init__(self, last: dict[str, int]) -> None:
        self.last = last

    async def last_message(self, stream: str, subject: str) -> bytes | None:
        assert stream == "MARKET"
        if subject not in self.last:
            return None
        stored = TradeEvent(
            symbol="X/USDT",
            id=str(self.last[subject]),
            price=1,
            amount=1,
            side="buy",
            timestamp=1,
            received_at=1,
            source="binance",
        )
        return stored.model_dump_json().encode()


class Recent:
    """Stands in for BinanceTrades: newest first, as Binance's recent trades are transformed."""

    def __init__(self, ids: list[int], failing: bool = False) -> None:
        self.ids, self.failing, self.queries = ids, failing, []

    async def fetch(self, query: PairQuery) -> list[Trade]:
        self.queries.append(query)
        if self.failing:
            raise UpstreamFailure("binance", "status 503")
        return [trade(trade_id) for trade_id in sorted(self.ids, reverse=True)]


def event(trade_id: int, symbol: str = "BTC/USDT", received_at: int = 5) -> TradeEvent:
    return TradeEvent(
        symbol=symbol,
        id=str(trade_id),
        price=100.0 + trade_id,
        amount=0.5,
        side="buy",
        timestamp=1_000 * trade_id,
        received_at=received_at,
        source="binance",
    )


def test_missed_trades_are_the_newer_ones_oldest_first_with_the_sockets_message_ids() -> None:
    missed = missed_trades(BTC, [trade(12), trade(11), trade(10), trade(9)], after_id=10)
    assert [event.id for event in missed] == ["11", "12"]
    assert message_id(missed[1]) == message_id(event(12))  # a live repeat is dropped by the stream


async def test_backfill_asks_only_for_pairs_the_stream_holds_trades_of() -> None:
    bus = Stream({"market.trade.btcusdt": 100})
    recent = Recent([98, 99, 100, 101, 102])
    events = await backfill(bus, recent, [BTC, ETH])  # type: ignore[arg-type]
    assert [(event.symbol, event.id) for event in events] == [("BTC/USDT", "101"), ("BTC/USDT", "102")]
    assert [(query.base, query.limit) for query in recent.queries] == [("BTC", 1000)]


async def test_a_failing_rest_call_backfills_nothing_and_raises_nothing() -> None:
    events = await backfill(Stream({"market.trade.btcusdt": 1}), Recent([2], failing=True), [BTC])  # type: ignore[arg-type]
    assert events == []


async def test_no_call_for_a_pair_whose_live_trades_already_follow_the_stored_one() -> None:
    bus = Stream({"market.trade.btcusdt": 100, "market.trade.ethusdt": 50})
    recent = Recent([51, 52, 53])
    first_live = first_live_ids([event(101), event(53, "ETH/USDT"), event(102), event(54, "ETH/USDT")])
    assert first_live == {"BTC/USDT": 101, "ETH/USDT": 53}
    events = await backfill(bus, recent, [BTC, ETH], first_live)  # type: ignore[arg-type]
    assert [query.base for query in recent.queries] == ["ETH"]  # BTC's live trades start right after 100
    assert [event.id for event in events] == ["51", "52", "53"]


def test_held_live_trades_follow_the_missed_ones_without_the_ones_the_backfill_has() -> None:
    missed = [event(11), event(12), event(13)]
    held = [event(13, received_at=9), event(7, "ETH/USDT"), event(14)]
    offered = in_order(missed, held)
    assert [(trade.symbol, trade.id) for trade in offered] == [
        ("BTC/USDT", "11"),
        ("BTC/USDT", "12"),
        ("BTC/USDT", "13"),
        ("ETH/USDT", "7"),
        ("BTC/USDT", "14"),
    ]
