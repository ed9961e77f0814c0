"""The REST bench's yardstick: a FastAPI handler returning fixed bytes, served the way the services are served.

    .venv/bin/python bench/static_handler.py 18555

It answers every GET path with the same small JSON body, so the only work per request is what uvicorn,
Starlette and FastAPI cost. `bench/rest_throughput.py` starts it beside the suite and routes a bench-only
path to it through the gateway (a dynamic file the bench writes; the production configuration has no such
route).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI
from starlette.responses import Response

# The size of a small cached answer (a price or a ticker is ~300 bytes).
BODY = b'{"success":true,"timestamp":0,"meta":{"source":"static"},"data":"' + b"x" * 240 + b'"}'

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/{path:path}")
async def static(path: str) -> Response:
    return Response(BODY, media_type="application/json")


def main() -> None:
    # The same server settings as suite_shared.runner.run_service (uvloop and httptools where installed).
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning", log_config=None)


if __name__ == "__main__":
    main()
