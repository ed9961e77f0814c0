"""NATS helpers: connect with reconnect, and publish/subscribe/request with pydantic payloads.

The first connection is made in the background with backoff, so a service starts (and reports
`degraded`) while NATS is not up yet; after that nats-py reconnects by itself. Payloads are JSON
documents validated by the same pydantic models as the REST bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoServersError
from nats.js import JetStreamContext
from pydantic import BaseModel, ValidationError

from .metrics import NATS_MESSAGES, subject_label

log = logging.getLogger(__name__)
ModelT = TypeVar("ModelT", bound=BaseModel)
ReplyT = TypeVar("ReplyT", bound=BaseModel)


class BusUnavailable(Exception):
    """NATS is not connected (yet, or any more)."""


class Bus:
    def __init__(self, url: str, service: str, ping_interval_s: int = 15) -> None:
        self.url = url
        self.service = service
        self.ping_interval_s = ping_interval_s
        self.nc: Client | None = None
        self._connector: asyncio.Task[None] | None = None
        self._on_connect: list[Callable[[], Awaitable[None]]] = []

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def start(self) -> None:
        """Begin connecting in the background; callbacks from `on_connect` run once connected."""
        self._connector = asyncio.create_task(self._connect_forever(), name="nats-connect")

    def on_connect(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` after the first connection (subscriptions are kept across reconnects by nats-py)."""
        self._on_connect.append(callback)

    async def wait_connected(self, timeout_s: float) -> bool:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wait(), timeout_s)
        return self.connected

    async def _wait(self) -> None:
        while not self.connected:  # noqa: ASYNC110 - replaced by an event in the Bus rework
            await asyncio.sleep(0.05)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while True:
            try:
                self.nc = await nats.connect(
                    servers=[self.url],
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
            except (TimeoutError, NoServersError, OSError) as exc:
                log.warning("NATS not reachable at %s (%s); retrying in %.1fs", self.url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        log.info("connected to NATS at %s", self.url)
        for callback in self._on_connect:
            await callback()

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

    def jetstream(self) -> JetStreamContext:
        return self._client().jetstream()

    async def publish(self, subject: str, payload: BaseModel, headers: dict[str, str] | None = None) -> None:
        await self._client().publish(subject, payload.model_dump_json().encode(), headers=headers)
        NATS_MESSAGES.labels(self.service, "out", subject_label(subject)).inc()

    async def publish_raw(self, subject: str, data: bytes) -> None:
        await self._client().publish(subject, data)
        NATS_MESSAGES.labels(self.service, "out", subject_label(subject)).inc()

    async def subscribe(
        self, subject: str, model: type[ModelT], handler: Callable[[ModelT, Msg], Awaitable[None]], queue: str = ""
    ) -> Any:
        """Callback subscription (faster than iterating); invalid payloads are logged and skipped."""

        async def on_message(msg: Msg) -> None:
            NATS_MESSAGES.labels(self.service, "in", subject_label(msg.subject)).inc()
            try:
                payload = model.model_validate_json(msg.data)
            except ValidationError as exc:
                log.warning("dropping invalid %s message: %s", msg.subject, exc.errors()[:1])
                return
            await handler(payload, msg)

        return await self._client().subscribe(subject, queue=queue, cb=on_message)

    async def request(self, subject: str, payload: BaseModel, reply_model: type[ReplyT], timeout_s: float) -> ReplyT:
        msg = await self._client().request(subject, payload.model_dump_json().encode(), timeout=timeout_s)
        NATS_MESSAGES.labels(self.service, "request", subject_label(subject)).inc()
        return reply_model.model_validate_json(msg.data)

    async def serve(
        self, subject: str, model: type[ModelT], handler: Callable[[ModelT], Awaitable[BaseModel]], queue: str
    ) -> Any:
        """Answer requests on `subject` in a queue group, so replicas share the load."""

        async def on_request(payload: ModelT, msg: Msg) -> None:
            reply = await handler(payload)
            await msg.respond(reply.model_dump_json().encode())
            NATS_MESSAGES.labels(self.service, "reply", subject_label(subject)).inc()

        return await self.subscribe(subject, model, on_request, queue=queue)

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(Exception):
                await self.nc.drain()
