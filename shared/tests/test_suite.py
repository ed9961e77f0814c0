"""The suite-wide endpoints: merging the services' OpenAPI documents, the gateway's error pages, and a `*_URL`
listing several replicas (health and OpenAPI from the first that answers)."""

from __future__ import annotations

import httpx

from suite_shared.settings import replica_urls
from suite_shared.suite import _service_health, _service_openapi, merge_openapi


def doc(paths: dict[str, object], schemas: dict[str, object]) -> dict[str, object]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}}


def test_public_paths_of_every_service_are_merged_and_tagged() -> None:
    merged = merge_openapi(
        {
            "market": doc({"/api/market": {"get": {}}, "/health": {"get": {}}}, {"Meta": {"type": "object"}}),
            "news": doc({"/api/news/latest": {"get": {"tags": ["news"]}}, "/suite/docs": {"get": {}}}, {"News": {}}),
        },
        "1.0",
    )
    assert list(merged["paths"]) == ["/api/market", "/api/news/latest"]
    assert merged["paths"]["/api/market"]["get"]["tags"] == ["market"]
    assert set(merged["components"]["schemas"]) == {"Meta", "News"}
    assert "x-missing-services" not in merged


def test_unreachable_services_are_named() -> None:
    merged = merge_openapi({"market": doc({}, {}), "ai": None}, "1.0")
    assert merged["x-missing-services"] == ["ai"]


def test_gateway_error_page_carries_rate_limit_headers() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from suite_shared.suite import router

    app = FastAPI()
    app.include_router(router)
    response = TestClient(app).get("/suite/errors/429?retry_after=12&limit=100&window=60")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "12"
    assert response.headers["RateLimit-Limit"] == "100" and response.headers["RateLimit-Remaining"] == "0"
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    plain = TestClient(app).get("/suite/errors/502")
    assert plain.status_code == 502 and plain.json()["error"]["code"] == "UPSTREAM_ERROR"


def test_docs_page_loads_swagger_ui_from_the_suite_not_a_cdn() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from suite_shared.errors import install_error_handlers
    from suite_shared.suite import router

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    client = TestClient(app)
    page = client.get("/suite/docs").text
    assert 'src="docs/assets/swagger-ui-bundle.js"' in page and 'href="docs/assets/swagger-ui.css"' in page
    assert "cdn" not in page
    script = client.get("/suite/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text
    assert client.get("/suite/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    for name in ("redoc.standalone.js", "..%2F__init__.py", "nope.js"):  # only the page's own assets
        missing = client.get(f"/suite/docs/assets/{name}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


def transport(answering: str) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.host != answering:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "healthy", "host": answering})
        return httpx.Response(200, json={"openapi": "3.1.0", "host": answering})

    return httpx.MockTransport(handle)


def test_replica_urls_splits_and_trims() -> None:
    assert replica_urls("http://a:1, http://b:2,") == ["http://a:1", "http://b:2"]
    assert replica_urls("http://a:1") == ["http://a:1"]


async def test_health_and_openapi_come_from_the_first_replica_that_answers() -> None:
    async with httpx.AsyncClient(transport=transport("b")) as http:
        report = await _service_health(http, "market", "http://a:1,http://b:2")
        assert report["status"] == "healthy" and report["host"] == "b"
        document = await _service_openapi(http, "http://a:1,http://b:2")
        assert document is not None and document["host"] == "b"
        assert (await _service_health(http, "market", "http://a:1"))["status"] == "unreachable"
        assert await _service_openapi(http, "http://a:1") is None
