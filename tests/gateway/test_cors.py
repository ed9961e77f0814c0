"""CORS through a real Traefik: `*` without credentials by default; with CORS_ALLOW_ORIGINS set, a listed
origin (the Dreammaker frontend's dev server, http://localhost:5173) is echoed with credentials (preflight
and credentialed request alike) and the answer says `Vary: Origin`, while an unlisted origin is given
nothing: Traefik cannot withhold credentials from `*`, so `*` beside the list would open credentialed
requests to every site."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gateway_harness import Gateway, Stubs, kill_group, start_gateway

FRONTEND = "http://localhost:5173"
OTHER_LISTED = "https://app.example.org"


@pytest.fixture(scope="module")
def credentialed_gateway(stubs: Stubs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    running = start_gateway(
        stubs,
        tmp_path_factory.mktemp("gw-cors"),
        {"RATE_LIMIT_IP_PER_MIN": "100000", "CORS_ALLOW_ORIGINS": f" {FRONTEND} , {OTHER_LISTED},*,"},
    )
    yield running
    kill_group(running.process)


def vary(response: httpx.Response) -> set[str]:
    return {part.strip().lower() for value in response.headers.get_list("Vary") for part in value.split(",")}


@pytest.mark.parametrize("origin", [FRONTEND, OTHER_LISTED])
def test_a_listed_origin_is_echoed_with_credentials_on_preflight(credentialed_gateway: Gateway, origin: str) -> None:
    preflight = httpx.options(
        f"{credentialed_gateway.url}/api/health",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert preflight.headers["Access-Control-Allow-Credentials"] == "true"


def test_a_credentialed_request_from_the_frontend_is_allowed(credentialed_gateway: Gateway) -> None:
    # What useHealthCheck's fetch(..., {credentials: 'include'}) sends: its origin and a cookie.
    response = httpx.get(
        f"{credentialed_gateway.url}/api/health", headers={"Origin": FRONTEND, "Cookie": "session=abc"}
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "origin" in vary(response)


@pytest.mark.parametrize("origin", ["https://elsewhere.test", "null", "http://localhost:5173.evil.test"])
def test_an_unlisted_origin_is_not_allowed(credentialed_gateway: Gateway, origin: str) -> None:
    response = httpx.get(f"{credentialed_gateway.url}/api/news/latest", headers={"Origin": origin})
    assert response.status_code == 200  # the data is served; a browser just does not hand it to that page
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = httpx.options(
        f"{credentialed_gateway.url}/api/news/latest",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_without_the_setting_no_origin_gets_credentials(gateway: Gateway) -> None:
    response = httpx.get(f"{gateway.url}/api/health", headers={"Origin": FRONTEND, "Cookie": "session=abc"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
