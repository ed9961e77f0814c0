"""Run a service under uvicorn with the suite's settings (used by each service's `__main__`)."""

from __future__ import annotations

import os

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from .logs import configure_logging

# A closed WebSocket connection used to leave two reference cycles, which only a full collection frees, and
# gcpolicy freezes live objects out of those for half an hour: the stream replica kept ~5 KB per closed
# connection (~50 MB per 10,000, bench/results/stream_fanout.md). The two protocols below break the cycles as
# the connection is handed over and as it ends, so reference counting frees it all when it closes.


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol. It and its parser refer to each other; uvicorn breaks that in
    `connection_lost`, which the HTTP protocol of an upgraded connection never receives (the transport goes to
    the WebSocket protocol), so its parser, transport wrapper and request headers (~30 objects) stayed."""

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        self.parser = None  # type: ignore[assignment]  # nothing reads it after the hand-over


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's WebSocket protocol (websockets' Sans-I/O one). The websockets connection's parser is a
    generator running one of its methods, so it refers to the connection; it ends only on an EOF that uvicorn
    never feeds it, so the connection, its reader and frames (~10 objects) stayed."""

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.conn.parser.close()  # no data can arrive now: nothing steps the parser again


def run_service(name: str, factory: str, ws_max_size: int = 64 * 1024) -> None:
    """`ws_max_size`: the largest WebSocket message the server reads; a larger one is refused from its frame
    header, before it is buffered (close 1009)."""
    level = os.environ.get("LOG_LEVEL", "info")
    configure_logging(level)
    os.environ.setdefault("SERVICE_NAME", name)
    uvicorn.run(
        factory,
        factory=True,
        host=os.environ.get("SUITE_HOST", "127.0.0.1"),
        port=int(os.environ.get(f"{name.upper()}_PORT", "8000")),
        log_level=level.lower(),
        access_log=False,
        http=HttpProtocol,
        ws=WebSocketProtocol,
        ws_per_message_deflate=False,
        ws_max_size=ws_max_size,
        log_config=None,
    )
