"""The sandbox app: every upstream's router mounted under its own first path segment.

Each module in `upstreams/` exports `PREFIX` (e.g. "/coingecko/api/v3") and `router`; the first path
segment of PREFIX is the upstream's name for fault switches and call counts.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import AsyncIterator

from fastapi import FastAPI

from . import admin, upstreams
from .faults import FaultMiddleware
from .market_universe import warm_up


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    warm_up()  # before serving: the first upstream call must answer as fast as the rest
    yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="Upstream sandbox", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json", lifespan=lifespan
    )
    app.include_router(admin.router)
    for module_info in sorted(pkgutil.iter_modules(upstreams.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{upstreams.__name__}.{module_info.name}")
        app.include_router(module.router, prefix=module.PREFIX)
    app.add_middleware(FaultMiddleware)
    return app
