"""Merging the services' OpenAPI documents into the one the gateway serves."""

from __future__ import annotations

from suite_shared.suite import merge_openapi


def doc(paths: dict[str, object], schemas: dict[str, object]) -> dict[str, object]:
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": schemas}}


def test_public_paths_of_every_service_are_merged_and_tagged() -> None:
    merged = merge_openapi({
        "market": doc({"/api/market": {"get": {}}, "/health": {"get": {}}}, {"Meta": {"type": "object"}}),
        "news": doc({"/api/news/latest": {"get": {"tags": ["news"]}}, "/suite/docs": {"get": {}}}, {"News": {}}),
    }, "1.0")
    assert list(merged["paths"]) == ["/api/market", "/api/news/latest"]
    assert merged["paths"]["/api/market"]["get"]["tags"] == ["market"]
    assert set(merged["components"]["schemas"]) == {"Meta", "News"}
    assert "x-missing-services" not in merged


def test_unreachable_services_are_named() -> None:
    merged = merge_openapi({"market": doc({}, {}), "ai": None}, "1.0")
    assert merged["x-missing-services"] == ["ai"]
