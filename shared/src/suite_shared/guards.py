"""What every service checks before a request reaches its routes: who the client is, and that the body is
small enough to read.

Client identity: behind the gateway, a request carries `X-Client-Id` (`key:<digest>`, set by the gateway's
key check for a verified API key; the gateway strips any a client sends itself) or else the client's address
as the gateway saw it, the first `X-Forwarded-For` entry (Traefik removes those a client sends on the public
entrypoint). Reached directly, the TCP peer is the client. The identity lives in a context variable for the
request (caller.py), so deeper layers can charge the right client without threading it through every call.

Body limit: a declared `Content-Length` over the limit is refused at once; a body without one (chunked) is
counted as it arrives and refused as soon as it passes the limit. Either way the client gets 413 in the
contract's envelope and nothing larger than the limit is ever buffered.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .caller import CLIENT
from .errors import PayloadTooLarge, error_response


def client_of(headers: dict[bytes, bytes], peer: tuple[str, int] | None) -> str:
    """The client a request is from: a verified key's id, else its address (see the module doc)."""
    verified = headers.get(b"x-client-id", b"").decode("latin-1").strip()
    if verified:
        return verified[:80]
    forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",")[0].strip()
    address = forwarded or (peer[0] if peer else "unknown")
    return f"ip:{address[:64]}"


class BodyTooLarge(HTTPException):
    """Raised while a body is read past the limit; the error handlers answer it as 413 PAYLOAD_TOO_LARGE."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"Request bodies are limited to {max_bytes} bytes.")


class RequestGuards:
    """Pure ASGI middleware: sets the request's client and enforces the body limit."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        token = CLIENT.set(client_of(headers, scope.get("client")))
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send, headers)
            else:
                await self.app(scope, receive, send)
        finally:
            CLIENT.reset(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes]) -> None:
        declared = headers.get(b"content-length", b"").strip()
        if declared and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(
            f"Request bodies are limited to {self.max_body_bytes} bytes.", {"max_bytes": self.max_body_bytes}
        )
        await error_response(error)(scope, receive, send)
