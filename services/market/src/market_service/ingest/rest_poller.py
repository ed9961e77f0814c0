"""REST polling that keeps ticker and book events flowing while the Binance socket is down.

Two multi-symbol calls per round (24 h tickers and book tickers) through the shared upstream client, so
every call spends the Binance weight budget all replicas share. The round interval is derived from those
weights so the poller alone never takes more than a small share of the budget (20 pairs: 6 weight every
3 s = 120 of 1200 per minute), leaving the rest for the REST API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from suite_shared.envelope import now_ms
from suite_shared.messages.market import BookEvent, MarketEvent, TickerEvent
from suite_shared.symbols import Pair
from suite_shared.upstream import UpstreamClient, UpstreamFailure

log = logging.getLogger(__name__)

Parser = Callable[[Any, Mapping[str, Pair], int], Sequence[MarketEvent]]

SOURCE = "binance-rest"
UPSTREAM = "binance"
TICKER_24H_PATH = "/api/v3/ticker/24hr"
BOOK_TICKER_PATH = "/api/v3/ticker/bookTicker"
BUDGET_SHARE = 0.10  # of the per-minute weight budget the fallback may use
MIN_INTERVAL_S = 3.0


def ticker_24h_weight(symbols: int) -> int:
    """Binance's weight for /ticker/24hr with a `symbols` list of this length."""
    return 2 if symbols <= 20 else 40 if symbols <= 100 else 80


def book_ticker_weight(symbols: int) -> int:
    return 2 if symbols == 1 else 4


def poll_interval_s(
    weight_per_round: int, budget_per_min: int, share: float = BUDGET_SHARE, floor_s: float = MIN_INTERVAL_S
) -> float:
    """Seconds between rounds so that polling spends at most `share` of the per-minute budget."""
    allowed_per_min = max(budget_per_min * share, 1.0)
    return max(floor_s, 60.0 * weight_per_round / allowed_per_min)


def symbols_param(pairs: Sequence[Pair]) -> str:
    """Binance's `symbols` parameter: a compact JSON array of exchange symbols."""
    return orjson.dumps([pair.compact for pair in pairs]).decode()


def parse_tickers_24h(rows: Any, pairs: Mapping[str, Pair], received_at: int) -> list[TickerEvent]:
    """Rows of /ticker/24hr (FULL) → ticker events; the statistics' close time is the event time."""
    return [
        TickerEvent(
            symbol=str(pairs[row["symbol"]]),
            price=float(row["lastPrice"]),
            change_24h=_float(row.get("priceChangePercent")),
            volume_24h=_float(row.get("quoteVolume")),
            high_24h=_float(row.get("highPrice")),
            low_24h=_float(row.get("lowPrice")),
            bid=_float(row.get("bidPrice")),
            ask=_float(row.get("askPrice")),
            timestamp=int(row.get("closeTime") or received_at),
            received_at=received_at,
            source=SOURCE,
        )
        for row in _rows(rows)
        if row.get("symbol") in pairs
    ]


def parse_book_tickers(rows: Any, pairs: Mapping[str, Pair], received_at: int) -> list[BookEvent]:
    """Rows of /ticker/bookTicker → top-of-book events (no event time: the receipt time stands in)."""
    return [
        BookEvent(
            symbol=str(pairs[row["symbol"]]),
            bids=[(float(row["bidPrice"]), float(row["bidQty"]))],
            asks=[(float(row["askPrice"]), float(row["askQty"]))],
            timestamp=received_at,
            received_at=received_at,
            source=SOURCE,
        )
        for row in _rows(rows)
        if row.get("symbol") in pairs
    ]


def _rows(body: Any) -> list[dict[str, Any]]:
    rows = body if isinstance(body, list) else [body]
    return [row for row in rows if isinstance(row, dict)]


def _float(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


class RestPoller:
    """One polling round at a time; the worker decides when to poll (only while the socket is down)."""

    def __init__(self, upstreams: UpstreamClient, pairs: Sequence[Pair], budget_per_min: int) -> None:
        self.upstreams = upstreams
        self.pair_list = list(pairs)
        self.pairs = {pair.compact: pair for pair in pairs}
        self.symbols = symbols_param(self.pair_list)
        weight = ticker_24h_weight(len(self.pair_list)) + book_ticker_weight(len(self.pair_list))
        self.interval_s = poll_interval_s(weight, budget_per_min)

    async def poll_once(self) -> list[MarketEvent]:
        """Both calls; a failing call is logged and skipped (its events are simply missing this round)."""
        events: list[MarketEvent] = []
        tickers = await self._get(TICKER_24H_PATH, ticker_24h_weight(len(self.pair_list)))
        if tickers is not None:
            events.extend(self._parse(parse_tickers_24h, tickers))
        books = await self._get(BOOK_TICKER_PATH, book_ticker_weight(len(self.pair_list)))
        if books is not None:
            events.extend(self._parse(parse_book_tickers, books))
        return events

    async def _get(self, path: str, weight: int) -> Any:
        try:
            return await self.upstreams.get_json(UPSTREAM, path, {"symbols": self.symbols}, weight=weight)
        except UpstreamFailure as exc:
            log.warning("REST fallback poll of %s failed (%s)", path, exc.reason)
            return None

    def _parse(self, parser: Parser, body: Any) -> Sequence[MarketEvent]:
        try:
            return parser(body, self.pairs, now_ms())
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("REST fallback body not in Binance's format: %r", exc)
            return []
