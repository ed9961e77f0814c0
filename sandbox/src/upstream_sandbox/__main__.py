"""`python -m upstream_sandbox [--host H] [--port P]` serves every imitated upstream on one port."""

from __future__ import annotations

import argparse
import os

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SUITE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8199")))
    args = parser.parse_args()
    uvicorn.run(
        "upstream_sandbox.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
