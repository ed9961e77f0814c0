"""A stand-in for one suite service, just enough for gateway tests: `python stub_backend.py NAME PORT`.

It answers `/health`, the `/suite/...` paths (health, docs, openapi, errors) and echoes, for any
`/api/...` path, which service it is and the path it received (decoded and raw), so tests can see where
the gateway sent a request and what it did to the path. `/ws` echoes WebSocket messages. Any other path
gets the contract's 404 envelope, like the real services.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, Response

from suite_shared.errors import ApiError, error_response
from suite_shared.keys import KeyRing, client_id

KEY_VARIABLES = ("API_KEYS", "ADMIN_API_KEYS")

CODES = {
    404: "NOT_FOUND",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    502: "UPSTREAM_ERROR",
    503: "UPSTREAM_UNAVAILABLE",
    504: "UPSTREAM_TIMEOUT",
}


def envelope(status: int, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """The contract's error body."""
    return {
        "success": False,
        "error": {"code": CODES.get(status, "INTERNAL_ERROR"), "message": message, "details": details},
        "timestamp": int(time.time() * 1000),
    }


def build_app(name: str) -> FastAPI:
    """The stub app for service `name`."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "healthy", "service": name}

    @app.get("/suite/health")
    async def suite_health() -> dict[str, Any]:
        return {"status": "healthy", "answered_by": name, "services": {}}

    @app.get("/suite/openapi.json")
    async def suite_openapi() -> dict[str, Any]:
        return {"openapi": "3.1.0", "info": {"title": "suite", "version": "0"}, "paths": {}, "x-answered-by": name}

    @app.get("/suite/docs")
    async def suite_docs() -> HTMLResponse:
        return HTMLResponse(f"<html><body>swagger ui ({name})</body></html>")

    @app.get("/suite/docs/assets/{name}")
    async def suite_docs_asset(name: str, request: Request) -> JSONResponse:
        return JSONResponse({"asset": name, "path": request.url.path})

    @app.api_route("/suite/errors/{status}", methods=["GET", "POST", "HEAD", "OPTIONS"])
    async def suite_error(status: int, request: Request) -> JSONResponse:
        # The gateway passes the limit it enforced; a 429 gets Retry-After and the RateLimit-* headers.
        query = request.query_params
        headers: dict[str, str] = {}
        if status == 429 and query.get("retry_after"):
            headers["Retry-After"] = query["retry_after"]
            headers["RateLimit-Reset"] = query["retry_after"]
            headers["RateLimit-Remaining"] = "0"
            if query.get("limit"):
                headers["RateLimit-Limit"] = query["limit"]
        # The request headers seen, so tests can check the gateway forwards no credentials here.
        body = envelope(status, f"gateway error {status}", {"answered_by": name, "headers": dict(request.headers)})
        return JSONResponse(body, status_code=status, headers=headers)

    @app.api_route("/suite/key-check", methods=["GET", "POST", "HEAD"])
    async def key_check(request: Request) -> Response:
        # The services' own key rules (suite_shared.keys), with the keys the stubs were started with.
        ring = KeyRing(*(frozenset(filter(None, os.environ.get(name, "").split(","))) for name in KEY_VARIABLES))
        try:
            key = ring.verify(request.scope["headers"])
        except ApiError as error:
            return error_response(error)
        return Response(status_code=204, headers={"X-Client-Id": client_id(key)} if key else {})

    @app.websocket("/ws")
    async def ws_echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"type": "connection", "status": "connected", "service": name})
        async for message in websocket.iter_text():
            await websocket.send_text(message)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
    async def echo(path: str, request: Request) -> JSONResponse:
        raw = request.scope.get("raw_path", b"").decode("latin-1")
        seen = {
            "service": name,
            "path": request.url.path,
            "raw_path": raw,
            "headers": dict(request.headers),
            "method": request.method,
        }
        if request.url.path.startswith(("/api/", "/ws")):
            return JSONResponse(seen)
        return JSONResponse(envelope(404, "Not found", seen), status_code=404)

    return app


if __name__ == "__main__":
    service, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(build_app(service), host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio")
