"""Assertions on the API contract's envelopes (../shared/API_CONTRACT.md), shared by the integration tests."""

from __future__ import annotations

from typing import Any

import httpx


def assert_ok(response: httpx.Response) -> dict[str, Any]:
    """A success envelope with its provenance; returns the body."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True and isinstance(body["timestamp"], int)
    assert body["meta"]["source"] and body["meta"]["sources_tried"][-1] == body["meta"]["source"]
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An error envelope with this status and code, a message and no framework `detail`; returns the body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["timestamp"], int)
    assert "detail" not in body
    return body
