"""The one way services talk over NATS: typed publish, subscribe, request/reply and JetStream consumers.

Every call names a `Topic` or an `Endpoint` (topics.py), which binds a subject to its pydantic model: what
is sent is the topic's model, what arrives is validated against it (invalid messages are counted and
skipped, or answered with an error on an endpoint). Every message is counted in `nats_messages_total`.

The first connection is made in the background with backoff, so a service starts (and reports
`degraded`) while NATS is not up yet; after that nats-py reconnects by itself. Callbacks registered with
`on_connect` run once connected, whenever they are registered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError, NoServersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue
from pydantic import BaseModel, ValidationError

from .envelope import now_ms
from .errors import ApiError, first_problem
from .messages import Reply, RequestError
from .metrics import NATS_CONSUMED, NATS_MESSAGES, subject_label
from .streams import StreamSpec
from .tasks import cancel_all
from .topics import Endpoint, Topic

log = logging.getLogger(__name__)
EventT = TypeVar("EventT", bound=BaseModel)
RequestT = TypeVar("RequestT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=Reply)
Callback = Callable[[], Awaitable[None]]


class BusUnavailable(Exception):
    """NATS is not connected (yet, or any more)."""


class NoReply(Exception):
    """A request got no answer: NATS not connected, nobody serving the subject, or no answer in time."""


class ReplayIncomplete(Exception):
    """A replay stopped before the stream's end (NATS stopped answering): what was yielded is not all."""


class Redeliver(Exception):
    """Raised by a durable consumer's handler: the message could not be handled now; deliver it again later."""


@dataclass(frozen=True)
class StreamState:
    first_seq: int
    last_seq: int
    messages: int


@dataclass(frozen=True)
class StreamRecord:
    """One stored message of a stream, as `Bus.replay` yields it (decode it with its topic's model)."""

    subject: str
    seq: int
    data: bytes


class Bus:
    def __init__(self, url: str, service: str, ping_interval_s: int = 15) -> None:
        self.url = url
        self.service = service
        self.ping_interval_s = ping_interval_s
        self.nc: Client | None = None
        self._connector: asyncio.Task[None] | None = None
        self._on_connect: list[Callback] = []
        self._connected_once = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    # -- connection --------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        """Begin connecting in the background; callbacks from `on_connect` run once connected."""
        self._connector = asyncio.create_task(self._connect_forever(), name="nats-connect")

    def on_connect(self, callback: Callback) -> None:
        """Run `callback` once NATS is connected: at the first connection, or now if that has happened.
        (Subscriptions are kept across reconnects by nats-py, so it runs once.)"""
        self._on_connect.append(callback)
        if self._connected_once.is_set():
            self._spawn(self._run_callback(callback), "nats-on-connect")

    async def wait_connected(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected_once.wait(), timeout_s)
        return self.connected

    async def _connect_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                self.nc = await nats.connect(
                    servers=[server.strip() for server in self.url.split(",")],
                    name=self.service,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    ping_interval=self.ping_interval_s,
                    max_outstanding_pings=3,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnect,
                    reconnected_cb=self._on_reconnect,
                )
                break
            except (NoServersError, OSError, TimeoutError) as exc:
                log.warning("NATS not reachable at %s (%s); retrying in %.1fs", self.url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        log.info("connected to NATS at %s", self.url)
        self._connected_once.set()
        for callback in list(self._on_connect):
            await self._run_callback(callback)

    async def _run_callback(self, callback: Callback) -> None:
        try:
            await callback()
        except Exception:  # one failing setup step must not stop the others
            log.exception("NATS on-connect step %s failed", getattr(callback, "__qualname__", callback))

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks = [task for task in self._tasks if not task.done()]
        self._tasks.append(asyncio.create_task(work, name=name))

    async def _on_error(self, exc: Exception) -> None:
        log.warning("NATS error: %s", exc)

    async def _on_disconnect(self) -> None:
        log.warning("NATS disconnected; reconnecting")

    async def _on_reconnect(self) -> None:
        log.info("NATS reconnected")

    def _client(self) -> Client:
        if self.nc is None or not self.nc.is_connected:
            raise BusUnavailable("NATS is not connected")
        return self.nc

    def _jetstream(self) -> JetStreamContext:
        return self._client().jetstream()

    def _count(self, direction: str, subject: str) -> None:
        NATS_MESSAGES.labels(self.service, direction, subject_label(subject)).inc()

    def _decode(self, model: type[EventT], subject: str, data: bytes) -> EventT | None:
        try:
            return model.model_validate_json(data)
        except ValidationError as exc:
            self._count("invalid", subject)
            log.warning("dropping invalid %s message: %s", subject, first_problem(exc))
            return None

    # -- events ------------------------------------------------------------------------------------------

    async def publish(
        self, topic: Topic[EventT], payload: EventT, *, subject: str | None = None, encoded: bytes | None = None
    ) -> None:
        """Publish an event (at most once). `subject` fills a templated topic; `encoded` is the payload
        already serialised (the ingest serialises each event once, for NATS and Redis)."""
        _check(topic, payload)
        subject = subject or topic.template
        await self._client().publish(subject, encoded if encoded is not None else payload.model_dump_json().encode())
        self._count("out", subject)

    async def publish_js(
        self,
        topic: Topic[EventT],
        payload: EventT,
        msg_id: str,
        *,
        subject: str | None = None,
        timeout_s: float = 5.0,
    ) -> int:
        """Publish into the topic's stream and wait for JetStream's acknowledgement; returns the stream
        sequence. `msg_id` (Nats-Msg-Id) makes a retry of the same message a no-op within the stream's
        duplicate window. Raises BusUnavailable or NATS's error when it was not stored."""
        _check(topic, payload)
        subject = subject or topic.template
        ack = await self._jetstream().publish(
            subject, payload.model_dump_json().encode(), timeout=timeout_s, headers={"Nats-Msg-Id": msg_id}
        )
        self._count("out", subject)
        return int(ack.seq)

    async def subscribe(
        self,
        topic: Topic[EventT],
        handler: Callable[[EventT], Awaitable[None]],
        *,
        subject: str | None = None,
        queue: str = "",
    ) -> None:
        """Plain subscription (a callback: faster than iterating) to the topic, or one of its subjects."""

        async def on_message(msg: Msg) -> None:
            self._count("in", msg.subject)
            payload = self._decode(topic.model, msg.subject, msg.data)
            if payload is not None:
                await handler(payload)

        await self._client().subscribe(subject or topic.pattern, queue=queue, cb=on_message)

    async def follow(
        self,
        topic: Topic[EventT],
        handler: Callable[[EventT, int], Awaitable[None]],
        *,
        subject: str | None = None,
    ) -> None:
        """New messages of the topic's stream as they arrive, with their stream sequence (a JetStream
        ordered consumer: one per subject per process, recreated by nats-py if it falls out of order)."""
        if topic.stream is None:
            raise ValueError(f"{topic.template} is kept by no stream")

        async def on_message(msg: Msg) -> None:
            self._count("in", msg.subject)
            payload = self._decode(topic.model, msg.subject, msg.data)
            if payload is not None:
                await handler(payload, msg.metadata.sequence.stream)

        await self._jetstream().subscribe(
            subject or topic.pattern,
            stream=topic.stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            cb=on_message,
        )

    def consume(
        self,
        topic: Topic[EventT],
        durable: str,
        handler: Callable[[EventT], Awaitable[bool]],
        *,
        batch: int = 64,
        ack_wait_s: float = 30.0,
        redeliver_after_s: float = 2.0,
    ) -> DurableConsumer[EventT]:
        """A durable consumer of the topic's stream, shared by every replica under the name `durable`: each
        message goes to one replica and is acknowledged once `handler` returns (True: used; False: skipped on
        purpose). A handler raising `Redeliver` gets the message again after `redeliver_after_s`."""
        return DurableConsumer(self, topic, durable, handler, batch, ack_wait_s, redeliver_after_s)

    # -- request/reply -------------------------------------------------------------------------------------

    async def request(self, endpoint: Endpoint[RequestT, ReplyT], payload: RequestT, timeout_s: float) -> ReplyT:
        """Ask and wait for the typed reply; NoReply when nobody answers in time."""
        _check(endpoint, payload)
        try:
            msg = await self._client().request(endpoint.subject, payload.model_dump_json().encode(), timeout=timeout_s)
        except (BusUnavailable, NoRespondersError, NatsTimeout, TimeoutError) as exc:
            raise NoReply(f"{endpoint.subject}: {type(exc).__name__}") from exc
        self._count("request", endpoint.subject)
        try:
            return endpoint.reply.model_validate_json(msg.data)
        except ValidationError as exc:
            self._count("invalid", endpoint.subject)
            error = RequestError(code="INTERNAL_ERROR", message=f"invalid reply: {first_problem(exc)}")
            return endpoint.reply(error=error)

    async def serve(
        self,
        endpoint: Endpoint[RequestT, ReplyT],
        handler: Callable[[RequestT], Awaitable[ReplyT]],
        *,
        workers: int = 1,
        backlog: int = 256,
    ) -> None:
        """Answer requests in the endpoint's queue group. A request of the wrong shape, or one the handler
        fails with an `ApiError`, is answered with an error (never left to time out). With `workers` > 1 a
        fixed pool answers from a queue of at most `backlog`, so one slow request does not hold up the rest
        (nats-py runs a subscription's callback one message at a time); a full queue is answered "busy"."""
        if workers == 1:

            async def on_request(msg: Msg) -> None:
                self._count("in", msg.subject)
                reply = await self.answer(endpoint, handler, msg.data)
                await self._respond(msg, reply)

        else:
            waiting: asyncio.Queue[Msg] = asyncio.Queue(maxsize=backlog)
            for index in range(workers):
                self._spawn(self._work(endpoint, handler, waiting), f"{endpoint.subject}-{index}")

            async def on_request(msg: Msg) -> None:
                self._count("in", msg.subject)
                try:
                    waiting.put_nowait(msg)
                except asyncio.QueueFull:
                    error = RequestError(code="SERVICE_UNAVAILABLE", message="Too many requests waiting; retry.")
                    await self._respond(msg, endpoint.reply(error=error))
                    return
                await asyncio.sleep(0)  # let an idle worker take it now, so a burst finds the whole backlog free

        await self._client().subscribe(endpoint.subject, queue=endpoint.queue, cb=on_request)

    async def _work(
        self,
        endpoint: Endpoint[RequestT, ReplyT],
        handler: Callable[[RequestT], Awaitable[ReplyT]],
        waiting: asyncio.Queue[Msg],
    ) -> None:
        while True:
            msg = await waiting.get()
            reply = await self.answer(endpoint, handler, msg.data)
            await self._respond(msg, reply)

    @staticmethod
    async def answer(
        endpoint: Endpoint[RequestT, ReplyT], handler: Callable[[RequestT], Awaitable[ReplyT]], data: bytes
    ) -> ReplyT:
        """The reply a request body gets: the handler's, or an error reply saying what was wrong."""
        try:
            return await handler(endpoint.request.model_validate_json(data))
        except ValidationError as exc:
            return endpoint.reply(error=RequestError(code="VALIDATION_ERROR", message=first_problem(exc)))
        except ApiError as exc:
            return endpoint.reply(error=RequestError(code=exc.code, message=exc.message))
        except Exception:
            log.exception("%s failed", endpoint.subject)
            return endpoint.reply(error=RequestError(code="INTERNAL_ERROR", message="Internal error."))

    async def _respond(self, msg: Msg, reply: Reply) -> None:
        if not msg.reply:
            return  # a publish, not a request: nobody is waiting
        try:
            await msg.respond(reply.model_dump_json().encode())
        except Exception as exc:  # NATS went away mid-request; the requester times out on its own
            log.warning("could not answer %s: %s", msg.subject, exc)
            return
        self._count("reply", msg.subject)

    # -- JetStream: streams, replay, key-value ------------------------------------------------------------

    async def ensure_stream(self, spec: StreamSpec) -> StreamState:
        """Create the stream, or update it to `spec` when it exists with other limits; returns its state."""
        js = self._jetstream()
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            try:
                info = await js.add_stream(spec.config())
                log.info("created JetStream stream %s (%s)", spec.name, ", ".join(spec.subjects))
                return _state(info)
            except BadRequestError:  # another replica created it between our two calls
                info = await js.stream_info(spec.name)
        current = info.config
        if (
            sorted(current.subjects or []) != sorted(spec.subjects)
            or current.max_age != spec.max_age_s
            or current.max_bytes != spec.max_bytes
            or current.num_replicas != spec.replicas
        ):
            info = await js.update_stream(spec.config())
            log.info("updated JetStream stream %s to the suite's definition", spec.name)
        return _state(info)

    async def stream_state(self, stream: str) -> StreamState:
        return _state(await self._jetstream().stream_info(stream))

    async def replay(
        self, stream: str, subjects: list[str], start_seq: int, fetch: int = 256
    ) -> AsyncIterator[StreamRecord]:
        """The stream's stored messages on `subjects` from `start_seq` on, oldest first, up to its end at the
        time of the call (an ephemeral consumer, deleted afterwards). ReplayIncomplete when NATS stops
        answering before the end, so that a caller never takes part of the stream for all of it."""
        js = self._jetstream()
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=max(start_seq, 1),
            ack_policy=AckPolicy.NONE,
            filter_subjects=sorted(subjects),
            inactive_threshold=30.0,
            mem_storage=True,
        )
        pull = await js.pull_subscribe("", stream=stream, config=config)
        info = await pull.consumer_info()
        try:
            pending = info.num_pending or 0
            while pending > 0:
                try:
                    messages = await pull.fetch(min(fetch, pending), timeout=2.0)
                except NatsTimeout as exc:
                    raise ReplayIncomplete(f"{stream}: {pending} messages not delivered") from exc
                for msg in messages:
                    pending = msg.metadata.num_pending or 0
                    self._count("in", msg.subject)
                    yield StreamRecord(msg.subject, msg.metadata.sequence.stream, msg.data)
        finally:
            with contextlib.suppress(Exception):
                await pull.unsubscribe()
            with contextlib.suppress(Exception):
                await js.delete_consumer(stream, info.name)

    async def key_value(self, bucket: str, ttl_s: float, replicas: int = 1) -> KeyValue:
        """The JetStream key-value bucket, created (with this TTL and one revision per key) if missing."""
        js = self._jetstream()
        try:
            return await js.key_value(bucket)
        except BucketNotFoundError:
            return await js.create_key_value(bucket=bucket, ttl=ttl_s, history=1, replicas=replicas)

    async def close(self) -> None:
        await cancel_all([self._connector, *self._tasks])
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()


class DurableConsumer(Generic[EventT]):
    """A pull consumer run by its own task (`Bus.consume`), retrying while NATS or the stream is away."""

    def __init__(
        self,
        bus: Bus,
        topic: Topic[EventT],
        durable: str,
        handler: Callable[[EventT], Awaitable[bool]],
        batch: int,
        ack_wait_s: float,
        redeliver_after_s: float,
    ) -> None:
        if topic.stream is None:
            raise ValueError(f"{topic.template} is kept by no stream")
        self.bus, self.topic, self.durable, self.handler = bus, topic, durable, handler
        self.batch, self.ack_wait_s, self.redeliver_after_s = batch, ack_wait_s, redeliver_after_s
        self.last_message_ms: int | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"consume-{self.durable}")

    async def stop(self) -> None:
        await cancel_all([self._task])

    def _outcome(self, outcome: str) -> None:
        NATS_CONSUMED.labels(self.bus.service, self.durable, outcome).inc()

    async def _run(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away, stream not there yet: try again shortly
                log.info("consumer %s: %s (%s); retrying", self.durable, type(exc).__name__, exc)
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=1000,
        )
        subscription = await self.bus._jetstream().pull_subscribe(
            self.topic.pattern, durable=self.durable, stream=self.topic.stream, config=config
        )
        while True:
            try:
                messages = await subscription.fetch(self.batch, timeout=2.0)
            except NatsTimeout:
                continue
            for msg in messages:
                await self._handle(msg)

    async def _handle(self, msg: Msg) -> None:
        self.bus._count("in", msg.subject)
        payload = self.bus._decode(self.topic.model, msg.subject, msg.data)
        if payload is None:
            self._outcome("invalid")
            await msg.ack()
            return
        try:
            used = await self.handler(payload)
        except Redeliver as exc:
            self._outcome("redelivered")
            log.debug("consumer %s: redelivering %s later (%s)", self.durable, msg.subject, exc)
            await msg.nak(delay=self.redeliver_after_s)
            return
        self._outcome("handled" if used else "skipped")
        await msg.ack()
        self.last_message_ms = now_ms()


def _check(binding: Topic[Any] | Endpoint[Any, Any], payload: BaseModel) -> None:
    expected = binding.model if isinstance(binding, Topic) else binding.request
    if not isinstance(payload, expected):
        name = binding.template if isinstance(binding, Topic) else binding.subject
        raise TypeError(f"{name} carries {expected.__name__}, not {type(payload).__name__}")


def _state(info: Any) -> StreamState:
    return StreamState(int(info.state.first_seq), int(info.state.last_seq), int(info.state.messages))
