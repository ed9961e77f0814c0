"""Route options for the Dreammaker frontend's compatibility paths (each service's `compat` module).

A compatibility path answers a frontend that calls another spelling of one of our endpoints. It is served by
the canonical endpoint's own code, caches and models (no upstream call of its own), marked deprecated in
the OpenAPI document and names its canonical endpoint there (`x-canonical`), which the README's
compatibility table is checked against.
"""

from __future__ import annotations

from typing import Any

COMPAT_TAG = "compatibility (Dreammaker frontend)"


def compat_route(canonical: str, note: str = "") -> dict[str, Any]:
    """Keyword arguments for `router.get/post` of a compatibility path whose canonical endpoint is `canonical`
    (e.g. `GET /api/market`)."""
    description = f"Deprecated: a path the Dreammaker frontend calls. Use the canonical `{canonical}`."
    return {
        "deprecated": True,
        "tags": [COMPAT_TAG],
        "description": f"{description} {note}".strip(),
        "openapi_extra": {"x-canonical": canonical},
    }
