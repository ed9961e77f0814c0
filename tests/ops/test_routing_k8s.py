"""The Kubernetes IngressRoutes agree with the services: evaluating their rules as Traefik does (the root
router of highest priority that matches, then, for a parent, the child of highest priority that matches),
for each client class, with and without the keyed tier, sends every route each service serves to that
service, and no service is given a prefix it serves nothing under. A copy with a route's prefix removed
must fail the same check."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from k8s_manifests import K8S, Obj, by_kind, render, with_api_keys
from routing import Router, problems, rule_matches, rule_prefixes, served_routes

CLIENTS = {"anonymous": {}, "x-api-key": {"X-API-Key": "k"}, "bearer": {"Authorization": "Bearer k"}}


def backend(route: dict[str, Any]) -> str | None:
    """The service a route sends to; None for the suite pool (it serves no prefix of its own)."""
    name = str(route["services"][0]["name"])
    return None if name == "suite" else name


def router_for(objects: list[Obj], headers: dict[str, str]) -> Router:
    ingresses = by_kind(objects, "IngressRoute")
    by_priority = lambda routes: sorted(routes, key=lambda pair: pair[1].get("priority", 0), reverse=True)  # noqa: E731
    roots = by_priority(
        [
            (name, route)
            for name, ir in ingresses.items()
            if not ir["spec"].get("parentRefs")
            for route in ir["spec"]["routes"]
        ]
    )
    children: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, ir in ingresses.items():
        for parent in ir["spec"].get("parentRefs", []):
            children.setdefault(parent["name"], []).extend((name, route) for route in ir["spec"]["routes"])

    def route_of(path: str) -> str | None:
        for name, route in roots:
            if not rule_matches(route["match"], path, headers):
                continue
            if route.get("services"):
                return backend(route)
            for _, child in by_priority(children.get(name, [])):
                if rule_matches(child["match"], path, headers):
                    return backend(child)
            return None
        return None

    prefixes: dict[str, list[str]] = {}
    for ir in ingresses.values():
        for route in ir["spec"]["routes"]:
            if route.get("services") and backend(route):
                prefixes.setdefault(str(backend(route)), []).extend(rule_prefixes(route["match"]))
    return Router(route_of, prefixes)


@pytest.fixture(scope="module")
def served() -> dict[str, list[str]]:
    return served_routes()


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    return {"dev": render(K8S / "overlays" / "dev"), "dev+keys": with_api_keys(tmp_path_factory.mktemp("keys"), "dev")}


@pytest.mark.parametrize("variant", ["dev", "dev+keys"])
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_every_served_route_reaches_its_service_for_each_client_class(
    served: dict[str, list[str]], variants: dict[str, list[Obj]], variant: str, client: str
) -> None:
    assert problems(served, router_for(variants[variant], CLIENTS[client])) == []


def test_a_broken_copy_of_the_ingress_routes_fails_the_check(
    served: dict[str, list[str]], variants: dict[str, list[Obj]]
) -> None:
    objects = copy.deepcopy(variants["dev+keys"])
    for route in by_kind(objects, "IngressRoute")["api-routes"]["spec"]["routes"]:
        route["match"] = route["match"].replace("Path(`/api/news`) || PathPrefix(`/api/news/`)", "Path(`/api/nws`)")
    found = problems(served, router_for(objects, CLIENTS["x-api-key"]))
    assert "/api/news/latest is served by news but routed to None" in found
    assert "/api/nws is routed to news, which serves nothing under it" in found


def test_without_the_children_nothing_reaches_a_service(
    served: dict[str, list[str]], variants: dict[str, list[Obj]]
) -> None:
    """The parents route only through their children: a keyed request whose parent lost them goes nowhere."""
    objects = copy.deepcopy(variants["dev+keys"])
    by_kind(objects, "IngressRoute")["api-routes"]["spec"]["parentRefs"] = [{"name": "public-anonymous"}]
    assert problems(served, router_for(objects, CLIENTS["anonymous"])) == []
    assert "/api/news/latest is served by news but routed to None" in problems(
        served, router_for(objects, CLIENTS["bearer"])
    )
