"""The gateway's routing agrees with the services: a real Traefik, with the project's `gateway/` configuration,
sends every route each service serves to that service (stub services say who answered), and gives no
service a prefix it serves nothing under. A copy of the configuration with a prefix dropped and one added
must fail the same check."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from gateway_harness import ROOT, Gateway, Stubs, kill_group, start_gateway
from routing import Router, problems, rule_prefixes, served_routes

PREFIX_LIST = re.compile(r'"(\w+)" \(list ((?:"[^"]+"\s*)+)\)')
WS_RULE = re.compile(r"public-ws:\s*\n(?:\s+.*\n)*?\s+rule: \"([^\"]+)\"")


def gateway_prefixes(root: Path) -> dict[str, list[str]]:
    """The prefixes routing.yml gives each service, and the WebSocket paths public.yml gives stream."""
    routing = (root / "gateway" / "dynamic" / "routing.yml").read_text()
    prefixes = {name: re.findall(r'"([^"]+)"', paths) for name, paths in PREFIX_LIST.findall(routing)}
    websocket = WS_RULE.search((root / "gateway" / "dynamic" / "public.yml").read_text())
    assert prefixes and websocket, "the gateway configuration's route lists were not found"
    prefixes["stream"] = rule_prefixes(websocket.group(1))
    return prefixes


def router_of(gateway: Gateway, prefixes: Mapping[str, list[str]]) -> Router:
    def route_of(path: str) -> str | None:
        body = httpx.get(gateway.url + path, timeout=5).json()
        return body.get("service") if isinstance(body, dict) else None

    return Router(route_of, prefixes)


@pytest.fixture(scope="module")
def served() -> dict[str, list[str]]:
    return served_routes()


def test_every_served_route_reaches_its_service_and_every_prefix_is_served(
    gateway: Gateway, served: dict[str, list[str]]
) -> None:
    assert len(served["market"]) > 10 and served["stream"] == ["/ws", "/ws/ticker", "/ws/trades"]
    assert problems(served, router_of(gateway, gateway_prefixes(ROOT))) == []


def test_a_broken_copy_of_the_routing_fails_the_check(
    stubs: Stubs, served: dict[str, list[str]], tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "gateway", tmp_path / "gateway")
    routing = tmp_path / "gateway" / "dynamic" / "routing.yml"
    text = routing.read_text()
    routing.write_text(text.replace('"news" (list "/api/news")', '"news" (list "/api/newsfeed")'))
    broken = start_gateway(stubs, tmp_path, {"RATE_LIMIT_IP_PER_MIN": "100000"}, root=tmp_path)
    try:
        found = problems(served, router_of(broken, gateway_prefixes(tmp_path)))
    finally:
        kill_group(broken.process)
    # News routes now fall to the catch-all pool, which any service answers (with the contract's 404). The pool
    # takes turns, so one of news's two routes (/api/news, /api/news/latest) may land on the news stub by
    # chance, but never both: consecutive requests go to different services.
    misrouted = [problem for problem in found if re.match(r"/api/news\S* is served by news but routed to", problem)]
    assert misrouted, found
    assert "/api/newsfeed is routed to news, which serves nothing under it" in found
