"""The Kubernetes IngressRoutes agree with the services: evaluating their rules (by priority, for each client
class) sends every route each service serves to that service, and no service is given a prefix it serves
nothing under. A copy with a route's prefix removed must fail the same check."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from routing import Router, problems, rule_matches, rule_prefixes, served_routes

INGRESS = Path(__file__).resolve().parents[2] / "k8s" / "base" / "traefik" / "ingressroute.yaml"
CLIENTS = {"anonymous": {}, "x-api-key": {"X-API-Key": "k"}, "bearer": {"Authorization": "Bearer k"}}


def ingress_routes() -> list[dict[str, Any]]:
    return [route for doc in yaml.safe_load_all(INGRESS.read_text()) if doc for route in doc["spec"]["routes"]]


def router_for(routes: list[dict[str, Any]], headers: dict[str, str]) -> Router:
    ordered = sorted(routes, key=lambda route: route.get("priority", 0), reverse=True)

    def route_of(path: str) -> str | None:
        for route in ordered:
            if rule_matches(route["match"], path, headers):
                name = route["services"][0]["name"]
                return None if name == "suite" else str(name)
        return None

    prefixes: dict[str, list[str]] = {}
    for route in routes:
        name = route["services"][0]["name"]
        if name != "suite":
            prefixes.setdefault(name, []).extend(rule_prefixes(route["match"]))
    return Router(route_of, prefixes)


@pytest.fixture(scope="module")
def served() -> dict[str, list[str]]:
    return served_routes()


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_every_served_route_reaches_its_service_for_each_client_class(
    served: dict[str, list[str]], client: str
) -> None:
    assert problems(served, router_for(ingress_routes(), CLIENTS[client])) == []


def test_a_broken_copy_of_the_ingress_routes_fails_the_check(served: dict[str, list[str]]) -> None:
    routes = copy.deepcopy(ingress_routes())
    for route in routes:
        route["match"] = route["match"].replace("Path(`/api/news`) || PathPrefix(`/api/news/`)", "Path(`/api/nws`)")
    found = problems(served, router_for(routes, {}))
    assert "/api/news/latest is served by news but routed to None" in found
    assert "/api/nws is routed to news, which serves nothing under it" in found
