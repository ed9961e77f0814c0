"""Suite-wide endpoints that any service can answer for the whole suite, behind the gateway.

The gateway sends `/health`, `/api/health`, `/docs` and `/openapi.json` to whichever service is alive
(rewritten to the `/suite/...` paths here), so these work while any one service runs: aggregated health
of all five services, ONE OpenAPI document merged from every service's own, its Swagger page, and the
contract's error envelope for statuses the gateway itself produces (429, 502-504).

`/suite/key-check` is the gateway's ForwardAuth target for requests that carry an API key: by the time it
runs, `ApiKeyMiddleware` has refused unknown (401), malformed or ambiguous (400) keys; it answers with the
key's client id (`X-Client-Id`), which the gateway's key limiter counts under; with no verified key (no keys
configured here) it refuses (401), so a keyed tier never grants a bucket to an unchecked key.

The Swagger page loads its script and stylesheet from the suite itself (`/docs/assets/...`, the files the
`fastapi-offline` package bundles), not from a CDN: it works offline, behind a firewall and under a strict CSP.
"""

from __future__ import annotations

import asyncio
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from .envelope import JSONBody
from .errors import NotFound, Unauthorized, error_for_status, error_response
from .keys import client_id

router = APIRouter(prefix="/suite", include_in_schema=False)

OPENAPI_CACHE_S = 30.0
INTERNAL_PATH_PREFIXES = ("/health", "/metrics", "/suite")


def _context(request: Request) -> Any:
    return request.app.state.context


@router.get("/health")
async def suite_health(request: Request) -> JSONBody:
    ctx = _context(request)
    names = list(ctx.settings.service_urls())
    reports = await asyncio.gather(
        *(_service_health(ctx.suite_http, name, url) for name, url in ctx.settings.service_urls().items())
    )
    services = dict(zip(names, reports, strict=True))
    statuses = [report["status"] for report in services.values()]
    overall = "healthy"
    if all(status in ("unhealthy", "unreachable") for status in statuses):
        overall = "unhealthy"
    elif any(status != "healthy" for status in statuses):
        overall = "degraded"
    body = {
        "status": overall,
        "version": ctx.settings.version,
        "uptime": round(time.monotonic() - ctx.started_at, 3),
        "data_source": ctx.settings.data_source,
        "answered_by": ctx.name,
        "services": services,
    }
    return JSONBody(body, status_code=200 if overall != "unhealthy" else 503)


async def _service_health(http: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        response = await http.get(f"{url}/health", timeout=2.0)
        report: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return {"status": "unreachable", "error": type(exc).__name__}
    report["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return report


@router.get("/openapi.json")
async def suite_openapi(request: Request) -> JSONBody:
    ctx = _context(request)
    cached = getattr(request.app.state, "suite_openapi", None)
    if cached is not None and time.monotonic() - cached[0] < OPENAPI_CACHE_S:
        return JSONBody(cached[1])
    documents = await asyncio.gather(
        *(_service_openapi(ctx.suite_http, url) for url in ctx.settings.service_urls().values())
    )
    merged = merge_openapi(dict(zip(ctx.settings.service_urls(), documents, strict=True)), ctx.settings.version)
    if not merged.get("x-missing-services"):
        request.app.state.suite_openapi = (time.monotonic(), merged)
    return JSONBody(merged)


async def _service_openapi(http: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    try:
        response = await http.get(f"{url}/openapi.json", timeout=3.0)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document
    except (httpx.HTTPError, ValueError):
        return None


def merge_openapi(documents: dict[str, dict[str, Any] | None], version: str) -> dict[str, Any]:
    """One document from every service's: public paths (tagged by service) and their component schemas."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    missing = [name for name, document in documents.items() if document is None]
    for name, document in documents.items():
        if document is None:
            continue
        for path, operations in document.get("paths", {}).items():
            if path.startswith(INTERNAL_PATH_PREFIXES):
                continue
            for operation in operations.values():
                if isinstance(operation, dict):
                    operation.setdefault("tags", [name])
            paths.setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Unified crypto data API",
            "version": version,
            "description": "Every service of the suite behind one gateway. Errors use the contract's envelope.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }
    if missing:
        merged["x-missing-services"] = missing
    return merged


@router.api_route("/key-check", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
async def key_check(request: Request) -> Response:
    key = request.scope.get("state", {}).get("api_key")
    if not key:
        # The gateway asks only for requests that carry a key. None verified means this service has no keys
        # configured while the gateway has a keyed tier (k8s: the api-keys component without its Secret's
        # keys): refuse, so an invented key can never earn a bucket of its own.
        raise Unauthorized("No API key was verified.")
    return Response(status_code=204, headers={"X-Client-Id": client_id(key)})


# Swagger UI 5 (it renders OpenAPI 3.1) as the fastapi-offline package ships it; only these files are served.
DOCS_ASSETS = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))  # installed wheels are plain files
# Relative to the page: `/docs` (through the gateway) loads `/docs/assets/...`, `/suite/docs` (a service
# reached directly) loads `/suite/docs/assets/...`; both end here.
ASSETS_URL = "docs/assets"


@router.get("/docs")
async def suite_docs() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Unified crypto data API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
    )


@router.get("/docs/assets/{name}")
async def suite_docs_asset(name: str) -> FileResponse:
    if name not in DOCS_ASSETS:
        raise NotFound(f"No documentation asset {name!r}.", {"assets": sorted(DOCS_ASSETS)})
    return FileResponse(ASSETS_DIR / name, headers={"Cache-Control": "public, max-age=86400"})


@router.api_route("/errors/{status}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
async def suite_error(
    status: int,
    retry_after: int | None = Query(None, ge=0, le=86_400),
    limit: int | None = Query(None, ge=0),
    window: int | None = Query(None, ge=1),
) -> JSONBody:
    """The contract's error envelope for a status the gateway produced itself (rate limit, backend down).

    Traefik's errors middleware drops the limiter's own headers, so the gateway passes the limit's figures
    in the query and they come back as `Retry-After` and `RateLimit-Limit/Remaining/Reset`.
    """
    error = error_for_status(status if 400 <= status <= 599 else 500)
    if retry_after is not None:
        error.headers["Retry-After"] = str(max(retry_after, 1))
        error.details["retry_after_s"] = max(retry_after, 1)
    if limit is not None:
        error.headers.update(
            {
                "RateLimit-Limit": str(limit),
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(max(retry_after or window or 60, 1)),
            }
        )
        error.details["limit"] = limit
        error.details["window_s"] = window or 60
    return error_response(error)
