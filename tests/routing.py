"""Routing consistency: every route a service serves reaches that service through the gateway, and nothing
is routed to a service that does not serve it. Shared by the Traefik test (tests/gateway/test_routing.py,
real Traefik in front of stub services) and the Kubernetes one (tests/ops/test_routing_k8s.py, the
IngressRoutes' rules evaluated here).

`served_routes()` reads each service's FastAPI app; `problems()` compares it with a router, given as a
function from a request path to the service it reaches, and the prefixes each service is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from starlette.routing import BaseRoute

INTERNAL = ("/health", "/metrics", "/suite", "/openapi.json", "/docs")
SAMPLE = {"symbol": "BTC/USDT", "address": "0x0000000000000000000000000000000000000000"}
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def served_apps() -> dict[str, FastAPI]:
    """Each service's FastAPI app, as it is built to run (not started)."""
    from ai_service.app import create_app as ai_app
    from market_service.app import create_app as market_app
    from news_service.app import create_app as news_app
    from sentiment_service.app import create_app as sentiment_app
    from stream_service.app import create_app as stream_app

    apps = {"market": market_app, "news": news_app, "sentiment": sentiment_app, "ai": ai_app, "stream": stream_app}
    return {name: create() for name, create in apps.items()}


def served_routes() -> dict[str, list[str]]:
    """Each service's public route templates (`/api/price/{symbol:path}`, `/ws`), from its own app."""
    served: dict[str, list[str]] = {}
    for name, app in served_apps().items():
        paths = [*app.openapi()["paths"], *_websocket_paths(app.router.routes)]
        served[name] = sorted(path for path in paths if not path.startswith(INTERNAL))
    return served


def _websocket_paths(routes: list[BaseRoute], prefix: str = "") -> list[str]:
    """WebSocket routes (not in the OpenAPI document), through included routers."""
    paths = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            paths += _websocket_paths(included.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIWebSocketRoute):
            paths.append(prefix + route.path)
    return paths


def concrete(template: str) -> str:
    """A request path for a route template (parameters filled with plausible values)."""
    return _PARAMETER.sub(lambda match: SAMPLE.get(match.group(1), "x"), template)


def covers(prefix: str, path: str) -> bool:
    """Whether a gateway prefix owns a path: itself and what lies below it."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


@dataclass(frozen=True)
class Router:
    """What a gateway configuration does: where a path goes, and which prefixes it gives each service."""

    route_of: Callable[[str], str | None]
    prefixes: Mapping[str, list[str]]


def problems(served: Mapping[str, list[str]], router: Router) -> list[str]:
    found = []
    for service, templates in served.items():
        for template in templates:
            reached = router.route_of(concrete(template))
            if reached != service:
                found.append(f"{template} is served by {service} but routed to {reached}")
    for service, prefixes in router.prefixes.items():
        for prefix in prefixes:
            if not any(covers(prefix, concrete(template)) for template in served.get(service, [])):
                found.append(f"{prefix} is routed to {service}, which serves nothing under it")
    return found


# -- Traefik rules (the subset the project's IngressRoutes use) ----------------------------------------------

_TOKEN = re.compile(r"\s*(\|\||&&|!|\(|\)|(?:Path|PathPrefix|HeaderRegexp)\(\s*`[^`]*`(?:\s*,\s*`[^`]*`)*\s*\))")
_ARGUMENT = re.compile(r"`([^`]*)`")


def rule_matches(rule: str, path: str, headers: Mapping[str, str]) -> bool:
    """Evaluate a Traefik rule (Path, PathPrefix, HeaderRegexp, &&, ||, !, parentheses) for a request."""
    tokens = _tokens(rule)
    position = 0

    def expression() -> bool:
        nonlocal position
        value = conjunction()
        while position < len(tokens) and tokens[position] == "||":
            position += 1
            value = conjunction() or value
        return value

    def conjunction() -> bool:
        nonlocal position
        value = unary()
        while position < len(tokens) and tokens[position] == "&&":
            position += 1
            value = unary() and value
        return value

    def unary() -> bool:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "!":
            return not unary()
        if token == "(":
            value = expression()
            position += 1  # ")"
            return value
        return _matcher(token, path, headers)

    return expression()


def _tokens(rule: str) -> list[str]:
    tokens, position = [], 0
    while position < len(rule.rstrip()):
        match = _TOKEN.match(rule, position)
        if match is None:
            raise ValueError(f"cannot parse rule at {rule[position : position + 30]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _matcher(token: str, path: str, headers: Mapping[str, str]) -> bool:
    name = token.split("(", 1)[0]
    arguments = _ARGUMENT.findall(token)
    if name == "Path":
        return path == arguments[0]
    if name == "PathPrefix":
        return path.startswith(arguments[0])
    header = next((value for key, value in headers.items() if key.lower() == arguments[0].lower()), None)
    return header is not None and re.search(arguments[1], header) is not None


def rule_prefixes(rule: str) -> list[str]:
    """The paths a rule names with Path(...) (the prefixes a route owns), negated parts left out."""
    positive = re.sub(r"!\s*\((?:[^()]|\([^()]*\))*\)", "", rule)
    return re.findall(r"\bPath\(`([^`]*)`\)", positive)
