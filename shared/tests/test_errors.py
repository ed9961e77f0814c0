"""Every error leaves as the contract's envelope: never FastAPI's {"detail": ...} and never a traceback."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel

from suite_shared.errors import InvalidSymbol, install_error_handlers
from suite_shared.upstream import CircuitOpen, UpstreamRejected, UpstreamTimedOut


class Body(BaseModel):
    text: str


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    async def items(limit: Annotated[int, Query(ge=1, le=10)] = 5) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/symbol")
    async def symbol() -> None:
        raise InvalidSymbol("Unknown symbol 'XYZ'", {"symbol": "XYZ", "supported_symbols": ["BTC"]})

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/upstream/{kind}")
    async def upstream(kind: str) -> None:
        failure = {"timeout": UpstreamTimedOut("up", "slow"), "open": CircuitOpen("up", "open")}.get(kind)
        raise failure or UpstreamRejected("up", "HTTP 403", 403)

    @app.post("/texts")
    async def texts(body: Body) -> dict[str, str]:
        return {"text": body.text}

    return app


client = TestClient(make_app(), raise_server_exceptions=False)


def check(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"success", "error", "timestamp"} and body["success"] is False
    assert body["error"]["code"] == code
    return body


def test_query_out_of_range_is_400_invalid_parameter() -> None:
    body = check(client.get("/items?limit=50"), 400, "INVALID_PARAMETER")
    assert body["error"]["details"]["errors"][0]["location"] == "query.limit"


def test_bad_body_is_422_validation_error() -> None:
    check(client.post("/texts", json={"nope": 1}), 422, "VALIDATION_ERROR")


def test_unparseable_body_is_an_envelope_too() -> None:
    check(
        client.post("/texts", content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "VALIDATION_ERROR",
    )


def test_domain_error_keeps_its_details() -> None:
    body = check(client.get("/symbol"), 404, "INVALID_SYMBOL")
    assert body["error"]["details"] == {"symbol": "XYZ", "supported_symbols": ["BTC"]}


def test_unknown_route_and_method() -> None:
    check(client.get("/nope"), 404, "NOT_FOUND")
    check(client.delete("/items"), 405, "METHOD_NOT_ALLOWED")


def test_unexpected_exception_is_500_without_internals() -> None:
    response = client.get("/boom")
    check(response, 500, "INTERNAL_ERROR")
    assert "secret" not in response.text and "Traceback" not in response.text


def test_upstream_failures_escaping_a_chain_are_gateway_errors_not_500() -> None:
    check(client.get("/upstream/rejected"), 502, "UPSTREAM_ERROR")
    check(client.get("/upstream/timeout"), 504, "UPSTREAM_TIMEOUT")
    check(client.get("/upstream/open"), 503, "UPSTREAM_UNAVAILABLE")


def test_details_quoting_extreme_numbers_still_render() -> None:
    from suite_shared.errors import InvalidParameter, error_response

    error = InvalidParameter("bad", {"n": 2**100, "x": float("inf"), "nested": [{"m": -(2**70)}], "ok": 3})
    body = error_response(error).body
    assert b'"n":"1267650600228229401496703205376"' in body and b'"x":"inf"' in body
    assert b'"m":"-1180591620717411303424"' in body and b'"ok":3' in body
