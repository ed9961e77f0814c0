"""The NATS request-reply service `market.candles.get`: closed candles with GET /api/ohlcv's semantics.

Every replica answers (queue group "market"), through the same symbol check, cache and provider chain as the REST
route, so ai sees exactly what the API serves. A request that is JSON but wrong (bad symbol, timeframe or window,
missing fields) is answered with an error object; only a body that is not JSON at all is dropped (logged by the
bus), leaving the requester to time out. A fixed pool of workers answers from a bounded queue: one slow upstream
call does not hold up the others (nats-py runs a subscription's callback one message at a time), and no task is made
per message; when the queue is full the request is answered at once with a busy error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.aio.msg import Msg
from pydantic import RootModel, TypeAdapter, ValidationError

from suite_shared.errors import ApiError, InvalidParameter
from suite_shared.events import Candle, CandlesReply, CandlesRequest, RequestError
from suite_shared.service import ServiceContext
from suite_shared.subjects import MARKET_CANDLES_GET
from suite_shared.tasks import cancel_all

from ..candles import candles
from ..chains import MarketChains
from ..directory import resolve_pair
from ..models import CandleQuery, Timeframe

log = logging.getLogger(__name__)

QUEUE_GROUP = "market"
TIMEFRAME: TypeAdapter[Timeframe] = TypeAdapter(Timeframe)


class AnyJson(RootModel[Any]):
    """Accept any JSON document, so a request of the wrong shape still gets an answer."""


async def answer(ctx: ServiceContext, chains: MarketChains, raw: Any) -> CandlesReply:
    """The reply to one request body; errors become the contract's error codes."""
    symbol, timeframe = _echo(raw, "symbol"), _echo(raw, "timeframe")
    try:
        request = CandlesRequest.model_validate(raw)
        timeframe_checked = TIMEFRAME.validate_python(request.timeframe)
        _check_window(request)
        pair = await resolve_pair(ctx.cache, chains.exchange_info, request.symbol)
        query = CandleQuery(
            base=pair.base,
            quote=pair.quote,
            timeframe=timeframe_checked,
            limit=request.limit,
            since=request.since,
            until=request.until,
        )
        result = await candles(ctx.cache, chains.candles, query, ctx.settings.ttl.ohlcv)
    except ValidationError as exc:
        return _error(symbol, timeframe, "VALIDATION_ERROR", _first_error(exc))
    except ApiError as exc:
        return _error(symbol, timeframe, exc.code, exc.message)
    except Exception:
        log.exception("market.candles.get failed")
        return _error(symbol, timeframe, "INTERNAL_ERROR", "Internal error.")
    return CandlesReply(
        symbol=str(pair),
        timeframe=query.timeframe,
        source=result.record.source,
        stale=result.stale,
        data=[Candle.model_validate(row) for row in result.value],
    )


def _check_window(request: CandlesRequest) -> None:
    """The REST route's limits on limit, since and until."""
    if not 1 <= request.limit <= 1000:
        raise InvalidParameter("limit must be between 1 and 1000.", {"limit": request.limit})
    if any(value is not None and value < 0 for value in (request.since, request.until)):
        raise InvalidParameter("since and until are epoch milliseconds, not negative.")
    if request.since is not None and request.until is not None and request.until < request.since:
        raise InvalidParameter("until must not be before since.", {"since": request.since, "until": request.until})


def _echo(raw: Any, field: str) -> str:
    value = raw.get(field) if isinstance(raw, dict) else None
    return value if isinstance(value, str) else ""


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{location}: {first['msg']}"


def _error(symbol: str, timeframe: str, code: str, message: str) -> CandlesReply:
    return CandlesReply(symbol=symbol, timeframe=timeframe, error=RequestError(code=code, message=message))


class CandleResponder:
    """Subscribes once NATS is up and answers with `workers` tasks from a queue of at most `backlog`."""

    def __init__(self, ctx: ServiceContext, chains: MarketChains, workers: int = 8, backlog: int = 256) -> None:
        self.ctx = ctx
        self.chains = chains
        self.workers = workers
        self.queue: asyncio.Queue[tuple[Any, Msg]] = asyncio.Queue(maxsize=backlog)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"candles-get-{index}") for index in range(self.workers)]
        await self.ctx.bus.subscribe(MARKET_CANDLES_GET, AnyJson, self._enqueue, queue=QUEUE_GROUP)

    async def stop(self) -> None:
        await cancel_all(self._tasks)

    async def _enqueue(self, payload: AnyJson, msg: Msg) -> None:
        try:
            self.queue.put_nowait((payload.root, msg))
        except asyncio.QueueFull:
            busy = _error(
                _echo(payload.root, "symbol"),
                _echo(payload.root, "timeframe"),
                "SERVICE_UNAVAILABLE",
                "Too many candle requests waiting; retry shortly.",
            )
            await _respond(msg, busy)

    async def _work(self) -> None:
        while True:
            raw, msg = await self.queue.get()
            await _respond(msg, await answer(self.ctx, self.chains, raw))


async def _respond(msg: Msg, reply: CandlesReply) -> None:
    if not msg.reply:
        return  # a publish, not a request: nobody is waiting
    try:
        await msg.respond(reply.model_dump_json().encode())
    except Exception as exc:  # NATS went away mid-request; the requester times out on its own
        log.warning("could not answer market.candles.get: %s", exc)
