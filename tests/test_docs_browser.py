"""`/docs` in a real browser: headless Chromium (Debian's `chromium`) opens the suite's Swagger page through the
real gateway, with every host but the suite's unreachable, and finds every operation of the merged OpenAPI
document rendered. Before the page's assets were served by the suite it was blank here (they came from a CDN)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from harness import Suite

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)"
)
OPERATION = re.compile(r'class="opblock-summary-method">(\w+)<.*?data-path="([^"]+)"', re.DOTALL)


def rendered_dom(url: str, profile: Path) -> str:
    """The page's DOM after scripts ran, in a headless Chromium that can reach only 127.0.0.1."""
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        # Every other host fails to resolve: a CDN asset would not load, so the page must not need one.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=30000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_docs_render_every_operation_in_headless_chromium(suite: Suite, tmp_path: Path) -> None:
    document = httpx.get(f"{suite.gateway_url}/openapi.json", timeout=15).json()
    expected = {
        (method.lower(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert len(expected) > 30
    dom = rendered_dom(f"{suite.gateway_url}/docs", tmp_path / "profile")
    assert "docs/assets/swagger-ui-bundle.js" in dom and "cdn." not in dom
    rendered = {(method.lower(), html.unescape(path)) for method, path in OPERATION.findall(dom)}
    assert rendered == expected
